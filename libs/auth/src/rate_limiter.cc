#include "portcullis/auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace portcullis::auth {

RateLimiter::RateLimiter(RateLimit limit, const Clock& clock, std::size_t max_keys)
    : limit_(limit), clock_(clock), max_keys_(max_keys) {
  if (limit_.burst < 1 || limit_.per_second <= 0) Fatal("RateLimiter: invalid limit");
}

RateLimiter::Bucket& RateLimiter::Refill(const std::string& key,
                                         std::chrono::steady_clock::time_point now) {
  if (buckets_.size() >= max_keys_ && buckets_.find(key) == buckets_.end() &&
      ++inserts_since_sweep_ >= max_keys_ / 4) {
    inserts_since_sweep_ = 0;
    // Forget every bucket that is full again: it is indistinguishable from a new one.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double secs = std::chrono::duration<double>(now - it->second.updated).count();
      if (it->second.tokens + secs * limit_.per_second >= limit_.burst) {
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Still full (a flood of distinct keys): drop one arbitrary bucket. That
  // key starts afresh, which costs an attacker max_keys distinct keys. The
  // full sweep above runs once per max_keys/4 such inserts: O(1) amortized.
  if (buckets_.size() >= max_keys_ && buckets_.find(key) == buckets_.end()) {
    buckets_.erase(buckets_.begin());
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{limit_.burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    double secs = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(limit_.burst, b.tokens + std::max(0.0, secs) * limit_.per_second);
    b.updated = now;
  }
  return b;
}

Status RateLimiter::Exhausted(const Bucket& b, double cost) const {
  double wait = (cost - b.tokens) / limit_.per_second;
  int seconds = std::max(1, static_cast<int>(std::ceil(wait)));
  return ResourceExhaustedError("too many requests; retry in " + std::to_string(seconds) + " s")
      .WithRetryAfter(seconds);
}

Status RateLimiter::Check(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(key, clock_.Monotonic());
  return b.tokens >= 1.0 ? OkStatus() : Exhausted(b, 1.0);
}

void RateLimiter::Consume(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(key, clock_.Monotonic());
  b.tokens = std::max(0.0, b.tokens - 1.0);
}

std::size_t RateLimiter::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

Status RateLimiter::Acquire(const std::string& key) {
  return Acquire(key, 1.0);
}

Status RateLimiter::Acquire(const std::string& key, double cost) {
  cost = std::min(cost, limit_.burst);  // a full bucket always admits one request
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(key, clock_.Monotonic());
  if (b.tokens < cost) return Exhausted(b, cost);
  b.tokens -= cost;
  return OkStatus();
}

}  // namespace portcullis::auth
