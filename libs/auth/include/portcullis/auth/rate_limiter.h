// Token buckets keyed by a string (a remote address, an enrollment token id),
// for rate limits that answer 429 with Retry-After.
//
//   RateLimiter failures({.burst = 20, .per_second = 1}, clock);
//   if (Status s = failures.Check(ip); !s.ok()) return s;   // 429 + Retry-After
//   ... on an authentication failure: failures.Consume(ip);
//
// Per process: with several replicas the effective limit is per replica
// (documented where it is configured). Thread-safe; memory is bounded by
// forgetting buckets that have refilled completely.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "portcullis/common/clock.h"
#include "portcullis/common/status.h"

namespace portcullis::auth {

struct RateLimit {
  double burst = 10;      // bucket capacity
  double per_second = 1;  // refill rate
};

class RateLimiter {
 public:
  RateLimiter(RateLimit limit, const Clock& clock, std::size_t max_keys = 100000);

  // OK when `key` has at least one token; ResourceExhausted with Retry-After
  // otherwise. Does not consume.
  Status Check(const std::string& key);
  // Takes one token (the bucket may go empty, never negative).
  void Consume(const std::string& key);
  // Check and consume in one step: the usual "N per second" limit.
  Status Acquire(const std::string& key);
  // Takes `cost` tokens at once (events of a batch), or none and
  // ResourceExhausted with the wait until there are enough. A cost above the
  // burst counts as the burst: a full bucket always admits.
  Status Acquire(const std::string& key, double cost);
  // Keys tracked now (never more than max_keys).
  std::size_t size();

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  Bucket& Refill(const std::string& key, std::chrono::steady_clock::time_point now);
  Status Exhausted(const Bucket& b, double cost) const;

  const RateLimit limit_;
  const Clock& clock_;
  const std::size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::size_t inserts_since_sweep_ = 0;
};

}  // namespace portcullis::auth
