#include "portcullis/metrics/registry.h"

#include <gtest/gtest.h>

namespace portcullis::metrics {
namespace {

TEST(RegistryTest, SerializesBuildInfoAndRegisteredSeries) {
  Registry r("ingest");
  r.Counter("portcullis_test_events_total", "Events seen", {{"kind", "deny"}}).Increment(3);
  r.HistogramFamily("portcullis_test_latency_seconds", "Latency")
      .Add({}, LatencyBuckets())
      .Observe(0.003);
  std::string text = r.Serialize();
  EXPECT_NE(text.find("portcullis_build_info{service=\"ingest\""), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE portcullis_test_events_total counter"), std::string::npos);
  EXPECT_NE(text.find("portcullis_test_events_total{kind=\"deny\"} 3"), std::string::npos);
  EXPECT_NE(text.find("portcullis_test_latency_seconds_bucket{le=\"0.005\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("portcullis_test_latency_seconds_count 1"), std::string::npos);
}

TEST(RegistryTest, SameFamilyTwiceIsOneFamily) {
  Registry r("s");
  r.Counter("portcullis_x_total", "x", {{"a", "1"}}).Increment();
  r.Counter("portcullis_x_total", "x", {{"a", "1"}}).Increment();
  EXPECT_NE(r.Serialize().find("portcullis_x_total{a=\"1\"} 2"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::metrics
