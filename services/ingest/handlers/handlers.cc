#include "handlers/handlers.h"

#include <atomic>
#include <memory>
#include <mutex>

#include "domain/decompress.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/common/strings.h"

namespace portcullis::ingest {
namespace {

using http::Request;
using http::Response;

// The batch's events on their way to the broker: answers 202 once every one
// is acknowledged, 503 if any is not.
class Delivery {
 public:
  // `records` acknowledgements to wait for, carrying `events` events.
  Delivery(std::size_t records, std::size_t events, http::Responder respond, int retry_after,
           prometheus::Counter* accepted, prometheus::Counter* failed)
      : remaining_(records),
        records_(records),
        total_(events),
        respond_(std::move(respond)),
        retry_after_(retry_after),
        accepted_(accepted),
        failed_(failed) {}

  void Done(const Status& s) {
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (first_error_.ok()) first_error_ = s;
      ++failures_;
    }
    if (--remaining_ == 0) Finish();
  }

 private:
  void Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_ == 0) {
      accepted_->Increment(static_cast<double>(total_));
      respond_(Response::Json(202, {{"accepted", total_}}));
      return;
    }
    failed_->Increment(static_cast<double>(total_));
    Response r = Response::Error(
        503, "unavailable",
        "the event broker did not acknowledge " + std::to_string(failures_) + " of " +
            std::to_string(records_) + " records of the batch's " + std::to_string(total_) +
            " events (" + first_error_.message() +
            "); nothing is lost by sending the whole batch again: events are deduplicated");
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_));
    respond_(std::move(r));
  }

  std::atomic<std::size_t> remaining_;
  const std::size_t records_;
  const std::size_t total_;
  http::Responder respond_;
  const int retry_after_;
  prometheus::Counter* accepted_;
  prometheus::Counter* failed_;
  std::mutex mu_;
  Status first_error_;
  std::size_t failures_ = 0;
};

bool IsProtobuf(const std::string* content_type) {
  if (content_type == nullptr) return false;
  std::string v = AsciiLower(content_type->substr(0, content_type->find(';')));
  v.erase(std::remove(v.begin(), v.end(), ' '), v.end());
  return v == "application/x-protobuf" || v == "application/protobuf";
}

}  // namespace

void RegisterRoutes(http::Server& server, kafka::Producer& producer, metrics::Registry& metrics,
                    const Clock& clock, const IngestOptions& options) {
  auto per_agent = std::make_shared<auth::RateLimiter>(options.per_agent, clock);
  auto per_tenant = std::make_shared<auth::RateLimiter>(options.per_tenant, clock);
  auto& events = metrics.CounterFamily("portcullis_ingest_events_total",
                                       "Events by outcome: accepted (acknowledged by Kafka), "
                                       "rejected (bad batch), unavailable (not acknowledged), "
                                       "limited (rate limit)");
  prometheus::Counter* accepted = &events.Add({{"outcome", "accepted"}});
  prometheus::Counter* rejected = &events.Add({{"outcome", "rejected"}});
  prometheus::Counter* unavailable = &events.Add({{"outcome", "unavailable"}});
  prometheus::Counter* limited = &events.Add({{"outcome", "limited"}});

  server.RouteDeferred(
      http::Method::kPost, "/v1/events",
      [&producer, &clock, options, per_agent, per_tenant, accepted, rejected, unavailable, limited](
          const Request& r, http::Responder respond) {
        if (Status s = auth::RequireScope(r, auth::kScopeAgent); !s.ok()) {
          return respond(Response::Error(s));
        }
        auto agent = AgentId::Parse(r.principal->subject);
        if (!agent.ok() || !r.principal->tenant) {
          return respond(Response::Error(InternalError("agent principal without ids")));
        }
        const TenantId tenant = *r.principal->tenant;
        if (!IsProtobuf(r.Header("content-type"))) {
          return respond(Response::Error(
              415, "unsupported_media_type",
              "the body must be a portcullis.v1.EventBatch as application/x-protobuf",
              "content-type"));
        }
        const std::string* encoding = r.Header("content-encoding");
        auto raw = Decompress(encoding != nullptr ? *encoding : "", r.body,
                              options.max_decompressed_bytes);
        if (!raw.ok()) {
          if (raw.status().code() == StatusCode::kResourceExhausted) {
            return respond(
                Response::Error(413, "payload_too_large", raw.status().message(), "body"));
          }
          int status =
              raw.status().message().find("not supported") != std::string::npos ? 415 : 400;
          return respond(
              Response::Error(status, status == 415 ? "unsupported_media_type" : "invalid_argument",
                              raw.status().message(), "content-encoding"));
        }
        v1::EventBatch batch;
        if (!batch.ParseFromString(*raw)) {
          return respond(Response::Error(
              InvalidArgumentError("the body is not a portcullis.v1.EventBatch"), "body"));
        }
        Problems problems;
        auto ok = AcceptBatch(batch, tenant, *agent, clock.Now(), options.limits, &problems);
        if (!ok.ok()) {
          rejected->Increment(static_cast<double>(batch.events_size()));
          return respond(problems.empty() ? Response::Error(ok.status())
                                          : Response::Invalid(problems));
        }
        const double n = static_cast<double>(ok->events);
        for (auto* limiter : {per_agent.get(), per_tenant.get()}) {
          const std::string key =
              limiter == per_agent.get() ? agent->ToString() : tenant.ToString();
          if (Status s = limiter->Acquire(key, n); !s.ok()) {
            limited->Increment(n);
            return respond(Response::Error(s));
          }
        }
        auto delivery =
            std::make_shared<Delivery>(ok->records.size(), ok->events, std::move(respond),
                                       options.retry_after_seconds, accepted, unavailable);
        for (const kafka::Record& rec : ok->records) {
          Status s = producer.Produce(
              options.topic, rec.key, rec.value,
              [delivery](const kafka::DeliveryResult& d) { delivery->Done(d.status); });
          if (!s.ok()) delivery->Done(s);  // not enqueued: no callback will come
        }
      },
      {.max_body_bytes = options.max_body_bytes});
}

}  // namespace portcullis::ingest
