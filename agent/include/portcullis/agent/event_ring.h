// Events on their way out of the agent: a bounded single-producer /
// single-consumer ring between the supervisor (which decides syscalls and must
// never wait) and a drain thread that writes them to a local sink file.
//
//   EventRing ring(4096);
//   EventWriter writer(ring, {.path = "/var/log/portcullis.events",
//                             .format = EventFormat::kJsonLines});
//   writer.Start();                 // the drain thread
//   ring.Push(std::move(event));    // supervisor thread; false (dropped) when full
//   writer.Stop();                  // drains what is left, joins
//
// Threading: Push from one thread only (the supervisor), Pop from one thread
// only (the writer). Push never blocks and never allocates beyond moving the
// event (protobuf Swap); a full ring drops the new event and counts it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/v1/event.pb.h"

namespace portcullis::agent {

class EventRing {
 public:
  explicit EventRing(std::size_t capacity);
  ~EventRing();
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // Takes the event's contents (it is left empty). False when full: dropped.
  bool Push(v1::Event&& event);
  // Moves the oldest event into `out`; false when empty.
  bool Pop(v1::Event* out);
  // An eventfd that becomes readable after a Push (for the consumer's poll).
  int wake_fd() const { return wake_fd_; }

  std::uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return slots_.size(); }

 private:
  std::vector<v1::Event> slots_;
  alignas(64) std::atomic<std::uint64_t> head_{0};  // next to pop (consumer)
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // next to push (producer)
  std::atomic<std::uint64_t> pushed_{0};
  std::atomic<std::uint64_t> dropped_{0};
  int wake_fd_ = -1;
};

enum class EventFormat {
  kDelimitedProto,  // varint length + portcullis.v1.Event, repeated
  kJsonLines,       // one protobuf-JSON object per line
};

struct EventWriterOptions {
  std::string path;  // appended to, created 0600
  EventFormat format = EventFormat::kDelimitedProto;
};

// Owns the drain thread and the sink file.
class EventWriter {
 public:
  EventWriter(EventRing& ring, EventWriterOptions options);
  ~EventWriter();  // Stop()
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Opens the sink and starts the thread.
  Status Start();
  // Writes whatever is left in the ring, closes the sink, joins the thread.
  void Stop();
  std::uint64_t written() const { return written_.load(); }

 private:
  void Loop();
  void Drain();

  EventRing& ring_;
  EventWriterOptions options_;
  int fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<std::uint64_t> written_{0};
  std::uint64_t reported_drops_ = 0;
};

// One event in the sink's format (for tests and tools): length-delimited
// bytes or a JSON line.
std::string EncodeEvent(const v1::Event& event, EventFormat format);

}  // namespace portcullis::agent
