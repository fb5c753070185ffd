// HTTP handlers of ingest: POST /v1/events (see services/ingest/README.md).
#pragma once

#include <string>

#include "domain/batch.h"
#include "portcullis/auth/rate_limiter.h"
#include "portcullis/http/server.h"
#include "portcullis/kafka/kafka.h"
#include "portcullis/metrics/registry.h"

namespace portcullis::ingest {

struct IngestOptions {
  std::string topic = "portcullis.events";
  BatchLimits limits;
  std::size_t max_body_bytes = 4 << 20;                              // as sent (compressed)
  std::size_t max_decompressed_bytes = 16 << 20;                     // after Content-Encoding
  auth::RateLimit per_agent{.burst = 20000, .per_second = 2000};     // events
  auth::RateLimit per_tenant{.burst = 200000, .per_second = 50000};  // events
  int retry_after_seconds = 2;  // told to agents when Kafka did not acknowledge
};

// `producer`, `metrics` and `clock` must outlive the server.
void RegisterRoutes(http::Server& server, kafka::Producer& producer, metrics::Registry& metrics,
                    const Clock& clock, const IngestOptions& options);

}  // namespace portcullis::ingest
