#include "portcullis/metrics/registry.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#ifndef PORTCULLIS_VERSION
#define PORTCULLIS_VERSION "dev"
#endif

namespace portcullis::metrics {

Registry::Registry(std::string service)
    : service_(std::move(service)), registry_(std::make_shared<prometheus::Registry>()) {
  Gauge("portcullis_build_info", "Build information of this Portcullis process",
        {{"service", service_}, {"version", PORTCULLIS_VERSION}})
      .Set(1);
}

prometheus::Family<prometheus::Counter>& Registry::CounterFamily(const std::string& name,
                                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& Registry::GaugeFamily(const std::string& name,
                                                             const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Histogram>& Registry::HistogramFamily(const std::string& name,
                                                                     const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
}

prometheus::Counter& Registry::Counter(const std::string& name, const std::string& help,
                                       const Labels& labels) {
  return CounterFamily(name, help).Add(labels);
}

prometheus::Gauge& Registry::Gauge(const std::string& name, const std::string& help,
                                   const Labels& labels) {
  return GaugeFamily(name, help).Add(labels);
}

std::string Registry::Serialize() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

}  // namespace portcullis::metrics
