#include "portcullis/agent/event_ring.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "portcullis/agent/agent_log.h"

namespace portcullis::agent {
namespace {

void AppendVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

EventRing::EventRing(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) Fatal(std::string("eventfd: ") + std::strerror(errno));
}

EventRing::~EventRing() {
  ::close(wake_fd_);
}

bool EventRing::Push(v1::Event&& event) {
  const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_.load(std::memory_order_acquire) >= slots_.size()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  slots_[tail % slots_.size()].Swap(&event);
  tail_.store(tail + 1, std::memory_order_release);
  pushed_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t one = 1;
  // Non-blocking; a saturated counter (EAGAIN) is already a wake-up.
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
  return true;
}

bool EventRing::Pop(v1::Event* out) {
  const std::uint64_t head = head_.load(std::memory_order_relaxed);
  if (head == tail_.load(std::memory_order_acquire)) return false;
  v1::Event& slot = slots_[head % slots_.size()];
  out->Clear();
  out->Swap(&slot);
  head_.store(head + 1, std::memory_order_release);
  return true;
}

std::string EncodeEvent(const v1::Event& event, EventFormat format) {
  std::string out;
  if (format == EventFormat::kDelimitedProto) {
    std::string bytes = event.SerializeAsString();
    AppendVarint(out, bytes.size());
    out += bytes;
    return out;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(event, &out, options).ok()) {
    Fatal("an event cannot be printed as JSON");
  }
  out += '\n';
  return out;
}

EventWriter::EventWriter(EventRing& ring, EventWriterOptions options)
    : ring_(ring), options_(std::move(options)) {}

EventWriter::~EventWriter() {
  Stop();
}

Status EventWriter::Start() {
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd_ < 0) return UnavailableError(options_.path + ": " + std::strerror(errno));
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return InternalError(std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { Loop(); });
  return OkStatus();
}

void EventWriter::Stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    ssize_t ignored = ::write(stop_fd_, &one, sizeof(one));
    (void)ignored;
    thread_.join();
  }
  if (fd_ >= 0) ::close(fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  fd_ = stop_fd_ = -1;
}

void EventWriter::Drain() {
  v1::Event event;
  std::string batch;
  while (ring_.Pop(&event)) {
    batch += EncodeEvent(event, options_.format);
    if (batch.size() > (64u << 10)) {
      if (!WriteAll(fd_, batch))
        log::Warn("cannot write events", {{"error", std::strerror(errno)}});
      batch.clear();
    }
    written_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!batch.empty() && !WriteAll(fd_, batch)) {
    log::Warn("cannot write events", {{"error", std::strerror(errno)}});
  }
  std::uint64_t dropped = ring_.dropped();
  if (dropped != reported_drops_) {
    log::Warn("events dropped: the ring was full",
              {{"dropped_total", std::to_string(dropped)},
               {"capacity", std::to_string(ring_.capacity())}});
    reported_drops_ = dropped;
  }
}

void EventWriter::Loop() {
  while (true) {
    pollfd fds[2] = {{ring_.wake_fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, 1000);
    if (n < 0 && errno != EINTR) Fatal(std::string("poll: ") + std::strerror(errno));
    std::uint64_t counter;
    if (fds[0].revents != 0) {
      ssize_t ignored = ::read(ring_.wake_fd(), &counter, sizeof(counter));
      (void)ignored;
    }
    Drain();
    if (fds[1].revents != 0) {
      Drain();  // anything pushed before Stop
      return;
    }
  }
}

}  // namespace portcullis::agent
