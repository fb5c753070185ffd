// Metrics: one prometheus-cpp registry per process, exposed in the Prometheus
// text format on the service's own /metrics route (libs/http serves it; no
// second listener).
//
//   auto metrics = std::make_shared<metrics::Registry>("registry");
//   auto& rows = metrics->Counter("portcullis_indexer_rows_written_total",
//                                 "Rows committed to PostgreSQL", {});
//   rows.Increment(n);
//   std::string text = metrics->Serialize();
//
// Every registry carries portcullis_build_info{service,version}. Thread-safe:
// prometheus-cpp metrics are atomic; families are created at wiring time.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

namespace portcullis::metrics {

using Labels = std::map<std::string, std::string>;

class Registry {
 public:
  explicit Registry(std::string service);

  prometheus::Family<prometheus::Counter>& CounterFamily(const std::string& name,
                                                         const std::string& help);
  prometheus::Family<prometheus::Gauge>& GaugeFamily(const std::string& name,
                                                     const std::string& help);
  prometheus::Family<prometheus::Histogram>& HistogramFamily(const std::string& name,
                                                             const std::string& help);
  // Shorthands for a family with one series.
  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const Labels& labels);
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help, const Labels& labels);

  // The Prometheus text exposition format, version 0.0.4.
  std::string Serialize() const;
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  const std::string& service() const { return service_; }
  prometheus::Registry& raw() { return *registry_; }

 private:
  std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
};

// Latency buckets in seconds for request handling: 0.5 ms to 10 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

}  // namespace portcullis::metrics
