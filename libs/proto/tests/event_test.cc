#include <gtest/gtest.h>

#include "portcullis/v1/event.pb.h"

namespace portcullis {
namespace {

TEST(EventProtoTest, BatchRoundTripsAndRejectsGarbage) {
  v1::EventBatch batch;
  v1::Event* e = batch.add_events();
  e->set_event_id(std::string(16, '\x01'));
  e->set_syscall("openat");
  e->set_category(v1::CATEGORY_FILE);
  e->mutable_file()->set_path("/etc/shadow");
  e->set_action(v1::ACTION_DENY);
  e->mutable_process()->add_argv("cat");
  std::string wire = batch.SerializeAsString();

  v1::EventBatch decoded;
  ASSERT_TRUE(decoded.ParseFromString(wire));
  ASSERT_EQ(decoded.events_size(), 1);
  EXPECT_EQ(decoded.events(0).file().path(), "/etc/shadow");
  EXPECT_EQ(decoded.events(0).target_case(), v1::Event::kFile);

  // A truncated length-delimited field must not parse.
  EXPECT_FALSE(decoded.ParseFromString(wire.substr(0, wire.size() - 3)));
}

}  // namespace
}  // namespace portcullis
