#include "storage/pg_change_listener.h"

#include <pqxx/pqxx>

#include "portcullis/common/log.h"
#include "storage/pg_policy_store.h"

namespace portcullis::policy_service {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const PgChangeListener::Callbacks& callbacks)
      : pqxx::notification_receiver(c, kChangeChannel), callbacks_(callbacks) {}
  void operator()(const std::string& payload, int) override {
    auto tenant = TenantId::Parse(payload);
    if (tenant.ok()) callbacks_.changed(*tenant);
  }

 private:
  const PgChangeListener::Callbacks& callbacks_;
};

}  // namespace

PgChangeListener::PgChangeListener(std::string dsn, Callbacks callbacks)
    : dsn_(std::move(dsn)), callbacks_(std::move(callbacks)), thread_([this] { Run(); }) {}

PgChangeListener::~PgChangeListener() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PgChangeListener::Run() {
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  };
  while (!stopping()) {
    try {
      pqxx::connection c(dsn_);
      Receiver receiver(c, callbacks_);
      const int backend = c.backendpid();
      listening_ = true;
      log::Info("listening for policy changes", {{"channel", kChangeChannel}});
      callbacks_.gap();
      while (!stopping()) {
        c.await_notification(0, 250000);
        // libpqxx 6 reconnects silently (and listens again): a new backend
        // means notifications may have been missed meanwhile.
        if (c.backendpid() != backend) throw pqxx::broken_connection("reconnected");
      }
    } catch (const std::exception& e) {
      listening_ = false;
      log::Warn("policy change listener lost its connection; retrying in 1 s",
                {{"error", e.what()}});
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    }
  }
  listening_ = false;
}

}  // namespace portcullis::policy_service
