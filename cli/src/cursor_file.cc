// The export's cursor file, replaced atomically (see cursor_file.h).
#include "portcullis/cli/cursor_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace portcullis::cli {
namespace {

std::string Reason(int error) {
  return std::system_category().message(error);
}

// Closes a descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close(2) may be the first to see.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return InternalError(Reason(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return OkStatus();
}

}  // namespace

bool IsValidCursor(std::string_view cursor) {
  return !cursor.empty() && cursor.size() <= kMaxCursorBytes &&
         std::all_of(cursor.begin(), cursor.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

StatusOr<std::optional<std::string>> ReadCursorFile(const std::string& path) {
  const std::string what = "cursor file '" + path + "'";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return InvalidArgumentError("cannot read " + what + ": " + Reason(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return InvalidArgumentError("cannot read " + what + ": " + Reason(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(what + " is not a regular file");
  std::string data;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return InvalidArgumentError("cannot read " + what + ": " + Reason(errno));
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > kMaxCursorBytes + 1) {
      return InvalidArgumentError(what + " is too large to hold a cursor");
    }
  }
  if (!data.empty() && data.back() == '\n') data.pop_back();
  if (data.empty()) {
    return InvalidArgumentError(what +
                                " is empty; delete it to export from the oldest retained event");
  }
  if (!IsValidCursor(data)) {
    return InvalidArgumentError(what + " does not hold a cursor (one line of printable ASCII)");
  }
  return std::optional<std::string>(std::move(data));
}

Status WriteCursorFile(const std::string& path, std::string_view cursor) {
  if (!IsValidCursor(cursor)) return InternalError("refusing to store a malformed cursor");
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& step, const std::string& reason) {
    ::unlink(tmp.c_str());
    return InternalError("cannot store the cursor in '" + path + "' (" + step + "): " + reason);
  };
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return fail("create " + tmp, Reason(errno));
    if (Status s = WriteAll(fd.get(), std::string(cursor) + "\n"); !s.ok()) {
      return fail("write " + tmp, s.message());
    }
    if (::fsync(fd.get()) != 0) return fail("fsync " + tmp, Reason(errno));
    if (fd.Close() != 0) return fail("close " + tmp, Reason(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename " + tmp, Reason(errno));
  // The rename is durable once the directory is: without this a power loss
  // could bring back the previous cursor (and the pages after it again).
  const std::string dir = DirectoryOf(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) {
    return InternalError("cannot store the cursor in '" + path + "' (fsync " + dir +
                         "): " + Reason(errno));
  }
  return OkStatus();
}

StatusOr<CursorFileLock> CursorFileLock::Acquire(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return InternalError("cannot open the lock file '" + lock_path + "': " + Reason(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return FailedPreconditionError("another export is using the cursor file '" + path +
                                     "' (it holds '" + lock_path + "'); run one export per file");
    }
    return InternalError("cannot lock '" + lock_path + "': " + Reason(error));
  }
  return CursorFileLock(fd);
}

CursorFileLock& CursorFileLock::operator=(CursorFileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

CursorFileLock::~CursorFileLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace portcullis::cli
