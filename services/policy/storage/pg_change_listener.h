// Listens for policy changes (NOTIFY on kChangeChannel, sent at commit by
// every instance's PgPolicyStore) on a connection of its own, and tells the
// distributor. After a (re)connection it reports a gap: notifications sent
// while it was away are lost, so every waiting agent is re-resolved.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "portcullis/common/ids.h"

namespace portcullis::policy_service {

class PgChangeListener {
 public:
  struct Callbacks {
    std::function<void(const TenantId&)> changed;
    std::function<void()> gap;
  };
  PgChangeListener(std::string dsn, Callbacks callbacks);
  ~PgChangeListener();  // stops and joins
  PgChangeListener(const PgChangeListener&) = delete;
  PgChangeListener& operator=(const PgChangeListener&) = delete;

  // Whether it is connected and listening (a readiness check).
  bool listening() const { return listening_.load(); }

 private:
  void Run();

  const std::string dsn_;
  const Callbacks callbacks_;
  std::atomic<bool> listening_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace portcullis::policy_service
