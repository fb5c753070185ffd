#include "portcullis/agent/event_ring.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace portcullis::agent {
namespace {

v1::Event EventWithRule(const std::string& id) {
  v1::Event e;
  e.set_rule_id(id);
  e.set_syscall("openat");
  return e;
}

TEST(EventRing, FifoAndDropsWhenFull) {
  EventRing ring(3);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(ring.Push(EventWithRule("r" + std::to_string(i))), i < 3);
  EXPECT_EQ(ring.pushed(), 3u);
  EXPECT_EQ(ring.dropped(), 2u);
  v1::Event out;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ring.Pop(&out));
    EXPECT_EQ(out.rule_id(), "r" + std::to_string(i));
  }
  EXPECT_FALSE(ring.Pop(&out));
  EXPECT_TRUE(ring.Push(EventWithRule("again")));  // room again after pops
}

TEST(EventRing, OneProducerOneConsumer) {
  EventRing ring(64);
  constexpr std::uint64_t kEvents = 200000;
  std::atomic<bool> done{false};
  std::uint64_t received = 0, last = 0;
  bool ordered = true;
  std::thread consumer([&] {
    v1::Event e;
    while (true) {
      bool finished = done.load();
      while (ring.Pop(&e)) {
        ordered = ordered && e.policy_version() > last;
        last = e.policy_version();
        ++received;
      }
      if (finished) return;
    }
  });
  for (std::uint64_t i = 1; i <= kEvents; ++i) {
    v1::Event e;
    e.set_policy_version(i);
    ring.Push(std::move(e));  // never waits: a full ring drops
  }
  done.store(true);
  consumer.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(received + ring.dropped(), kEvents);
  EXPECT_EQ(received, ring.pushed());
  EXPECT_GT(received, 0u);
}

TEST(EventWriter, DelimitedAndJsonSinks) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("agent-events-" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (EventFormat format : {EventFormat::kDelimitedProto, EventFormat::kJsonLines}) {
    fs::path file = dir / (format == EventFormat::kJsonLines ? "e.json" : "e.bin");
    EventRing ring(16);
    EventWriter writer(ring, {.path = file.string(), .format = format});
    ASSERT_TRUE(writer.Start().ok());
    std::string expected;
    for (int i = 0; i < 40; ++i) {
      v1::Event e = EventWithRule("r" + std::to_string(i));
      std::string encoded = EncodeEvent(e, format);
      // What the ring drops never reaches the sink; what it takes does.
      if (ring.Push(std::move(e))) expected += encoded;
      if (i % 8 == 7) {
        while (writer.written() < ring.pushed())
          std::this_thread::yield();
      }
    }
    writer.Stop();
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), expected);
    EXPECT_EQ(writer.written(), ring.pushed());
  }
  v1::Event e = EventWithRule("x");
  EXPECT_EQ(EncodeEvent(e, EventFormat::kJsonLines),
            "{\"syscall\":\"openat\",\"rule_id\":\"x\"}\n");
  std::string delimited = EncodeEvent(e, EventFormat::kDelimitedProto);
  v1::Event back;
  ASSERT_TRUE(back.ParseFromString(delimited.substr(1)));
  EXPECT_EQ(static_cast<std::size_t>(delimited[0]), delimited.size() - 1);
  EXPECT_EQ(back.rule_id(), "x");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace portcullis::agent
