// The cursor file of `portcullisctl export --cursor-file FILE`: where a
// long-running export keeps the query service's Portcullis-Next-Cursor, so a
// restarted export continues where the last one stopped.
//
//   StatusOr<std::optional<std::string>> c = ReadCursorFile("siem.cursor");
//   if (!c.ok()) { /* unreadable or not a cursor: refuse to start over silently */ }
//   std::string cursor = c->value_or("");   // no file yet: from the oldest event
//   ...
//   Status s = WriteCursorFile("siem.cursor", next_cursor);
//
// The file holds the cursor and a newline. It is replaced atomically: the new
// cursor goes to FILE.tmp, which is fsynced and renamed over FILE, and the
// directory is fsynced, so after a crash FILE holds either the previous
// cursor or the new one, whole, never a torn mix or nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "portcullis/common/status.h"

namespace portcullis::cli {

// The query service's cursors are at most 2 KiB; the rest is headroom.
inline constexpr std::size_t kMaxCursorBytes = 4096;

// The cursor stored in `path`; nullopt when the file does not exist (the
// export starts from the oldest retained event). InvalidArgument, naming the
// file, when it exists but cannot be read, is not a regular file, is too
// large, or does not hold one line of printable ASCII (an empty file
// included: starting over would send every event again).
StatusOr<std::optional<std::string>> ReadCursorFile(const std::string& path);

// Stores `cursor` in `path` atomically (see above); `cursor` must be valid
// (IsValidCursor). Internal with the step and the system's reason on
// failure: FILE then still holds the previous cursor (a failed fsync of the
// directory comes after the rename, and only makes the new one not yet
// durable).
Status WriteCursorFile(const std::string& path, std::string_view cursor);

// One export per cursor file: two exports following the same file would each
// send the same events to the SIEM and overwrite each other's cursor. The lock
// is an flock(2) on FILE.lock (FILE itself is replaced by rename, so it cannot
// carry the lock), held until the object is destroyed or the process exits,
// however it exits; the kernel releases it, so a crashed export leaves no
// stale lock behind. The .lock file stays; it is empty.
class CursorFileLock {
 public:
  // FailedPrecondition naming the file when another export holds it;
  // Internal with the system's reason when FILE.lock cannot be opened.
  static StatusOr<CursorFileLock> Acquire(const std::string& path);

  CursorFileLock(CursorFileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  CursorFileLock& operator=(CursorFileLock&& other) noexcept;
  CursorFileLock(const CursorFileLock&) = delete;
  CursorFileLock& operator=(const CursorFileLock&) = delete;
  ~CursorFileLock();

 private:
  explicit CursorFileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Whether `cursor` can be stored and sent: 1..kMaxCursorBytes of printable
// ASCII without spaces.
bool IsValidCursor(std::string_view cursor);

}  // namespace portcullis::cli
