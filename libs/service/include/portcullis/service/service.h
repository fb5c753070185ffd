// The runtime every Portcullis service binary shares: command line, config from
// file and environment, JSON logging, the HTTP server with /healthz, /readyz
// and /metrics, its dependencies (PostgreSQL, Kafka) with readiness checks, and
// graceful shutdown on SIGTERM. A service's main.cc only wires its domain:
//
//   int main(int argc, char** argv) {
//     return service::Main({.name = "registry", .default_listen = "127.0.0.1:8443"},
//                          argc, argv, [](service::Context& ctx) -> Status {
//       pg::Pool* pool = ctx.Postgres();
//       if (pool == nullptr) return OkStatus();  // config error, reported later
//       ctx.server().Route(...);
//       return OkStatus();
//     });
//   }
//
// Exit codes: 0 after a clean shutdown, 2 for usage or configuration errors
// (every problem listed), 1 when the service cannot start (port taken, ...).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "portcullis/common/config.h"
#include "portcullis/common/status.h"
#include "portcullis/http/server.h"
#include "portcullis/kafka/kafka.h"
#include "portcullis/metrics/registry.h"
#include "portcullis/pg/pool.h"

namespace portcullis::service {

struct ServiceInfo {
  std::string name;            // "registry"; binary is portcullis-<name>
  std::string default_listen;  // used when PORTCULLIS_HTTP_LISTEN is unset
  // Default of PORTCULLIS_HTTP_HEADER_TIMEOUT_MS; also bounds how long a
  // deferred (long-poll) response may take (see http::Responder).
  std::chrono::milliseconds default_header_timeout{10000};
  // Default of PORTCULLIS_KAFKA_DELIVERY_TIMEOUT_MS: how long the producer
  // tries to get a message acknowledged before reporting it failed.
  std::chrono::milliseconds default_kafka_delivery_timeout{30000};
};

// What a service's setup function receives. Owned by Main; valid until the
// process exits. Not thread-safe: setup runs before any request is served.
class Context {
 public:
  virtual ~Context() = default;

  virtual const ServiceInfo& info() const = 0;
  // Service-specific configuration keys; errors are reported with the others.
  virtual ConfigReader& config() = 0;
  virtual metrics::Registry& metrics() = 0;
  virtual http::Server& server() = 0;

  // The PostgreSQL pool (PORTCULLIS_PG_DSN, _POOL_SIZE, _STATEMENT_TIMEOUT_MS),
  // created on first call, with a "postgres" readiness check. Null when the
  // configuration is invalid (the error is already recorded).
  virtual pg::Pool* Postgres() = 0;
  // The Kafka producer (PORTCULLIS_KAFKA_BROKERS), with a "kafka" readiness check.
  virtual kafka::Producer* KafkaProducer() = 0;

  // `check` runs on each GET /readyz; any non-OK result makes it 503.
  virtual void AddReadinessCheck(std::string name, std::function<Status()> check) = 0;
  // Runs at shutdown, after the HTTP server stopped, in reverse order of
  // registration (stop workers before the pools they use go away).
  virtual void OnShutdown(std::function<void()> fn) = 0;
};

using SetupFn = std::function<Status(Context&)>;

int Main(const ServiceInfo& info, int argc, char** argv, const SetupFn& setup);

}  // namespace portcullis::service
