#include "portcullis/service/service.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "portcullis/common/log.h"

extern char** environ;  // NOLINT: POSIX

namespace portcullis::service {
namespace {

using std::chrono::milliseconds;

constexpr const char* kVersion = PORTCULLIS_VERSION;

void PrintUsage(const ServiceInfo& info, std::FILE* out) {
  std::fprintf(out,
               "usage: portcullis-%s [--config FILE] [--check-config] [--version]\n"
               "\n"
               "Configuration comes from FILE (KEY=value lines) and PORTCULLIS_* environment\n"
               "variables, the environment winning. Common keys:\n"
               "  PORTCULLIS_HTTP_LISTEN       host:port to serve on (default %s)\n"
               "  PORTCULLIS_TLS_CERT/_KEY     PEM certificate and key (TLS is required)\n"
               "  PORTCULLIS_TLS_DISABLE       true to serve plaintext (development only)\n"
               "  PORTCULLIS_LOG_LEVEL         debug|info|warn|error (default info)\n"
               "  PORTCULLIS_PG_DSN            libpq conninfo (services using PostgreSQL)\n"
               "  PORTCULLIS_KAFKA_BROKERS     host:port,... (services using Kafka)\n"
               "See the service's README.md for the rest.\n",
               info.name.c_str(), info.default_listen.c_str());
}

class ContextImpl final : public Context {
 public:
  ContextImpl(ServiceInfo info, ConfigReader& reader, std::shared_ptr<metrics::Registry> metrics,
              http::Server& server)
      : info_(std::move(info)), reader_(reader), metrics_(std::move(metrics)), server_(server) {}

  const ServiceInfo& info() const override { return info_; }
  ConfigReader& config() override { return reader_; }
  metrics::Registry& metrics() override { return *metrics_; }
  http::Server& server() override { return server_; }

  pg::Pool* Postgres() override {
    if (pg_created_) return pool_.get();
    pg_created_ = true;
    pg::PoolOptions o;
    o.dsn = reader_.RequiredString("PORTCULLIS_PG_DSN");
    o.size = static_cast<int>(reader_.Int("PORTCULLIS_PG_POOL_SIZE", 8, 1, 256));
    o.statement_timeout = reader_.Millis("PORTCULLIS_PG_STATEMENT_TIMEOUT_MS", milliseconds(5000),
                                         milliseconds(10), milliseconds(600000));
    o.jit = reader_.Bool("PORTCULLIS_PG_JIT", false);
    if (o.dsn.empty()) return nullptr;
    auto pool = pg::Pool::Create(o);
    if (!pool.ok()) {
      reader_.AddError("PORTCULLIS_PG_DSN", pool.status().message());
      return nullptr;
    }
    pool_ = std::move(*pool);
    pg::Pool* raw = pool_.get();
    AddReadinessCheck("postgres", [raw] { return raw->Ping(); });
    return raw;
  }

  kafka::Producer* KafkaProducer() override {
    if (kafka_created_) return producer_.get();
    kafka_created_ = true;
    std::string brokers = reader_.RequiredString("PORTCULLIS_KAFKA_BROKERS");
    if (brokers.empty()) return nullptr;
    const milliseconds delivery_timeout =
        reader_.Millis("PORTCULLIS_KAFKA_DELIVERY_TIMEOUT_MS", info_.default_kafka_delivery_timeout,
                       milliseconds(1000), milliseconds(300000));
    // What the broker stores and the consumers read back; lz4 costs the
    // producer, the broker and the consumers the least CPU per event (see
    // libs/kafka/README.md).
    const std::string compression = reader_.Enum("PORTCULLIS_KAFKA_COMPRESSION", "lz4",
                                                 {"lz4", "zstd", "gzip", "snappy", "none"});
    auto p = kafka::Producer::Create({.brokers = brokers,
                                      .client_id = "portcullis-" + info_.name,
                                      .delivery_timeout = delivery_timeout,
                                      .extra = {{"compression.type", compression}}});
    if (!p.ok()) {
      reader_.AddError("PORTCULLIS_KAFKA_BROKERS", p.status().message());
      return nullptr;
    }
    producer_ = std::move(*p);
    kafka::Producer* raw = producer_.get();
    AddReadinessCheck("kafka", [raw] { return raw->Ping(milliseconds(2000)); });
    return raw;
  }

  void AddReadinessCheck(std::string name, std::function<Status()> check) override {
    prometheus::Gauge* up = &metrics_->Gauge(
        "portcullis_dependency_up", "1 when the dependency answered the last readiness check",
        {{"dependency", name}});
    checks_.push_back({std::move(name), std::move(check), up});
  }

  void OnShutdown(std::function<void()> fn) override { shutdown_.push_back(std::move(fn)); }

  http::Response Ready() const {
    nlohmann::json results = nlohmann::json::object();
    bool ready = true;
    for (const Check& c : checks_) {
      Status s = c.check();
      c.up->Set(s.ok() ? 1 : 0);
      results[c.name] = s.ok() ? "ok" : s.ToString();
      ready = ready && s.ok();
    }
    http::Response r = http::Response::Json(
        ready ? 200 : 503, {{"status", ready ? "ready" : "not ready"}, {"checks", results}});
    if (!ready) r.headers.emplace_back("Retry-After", "1");
    return r;
  }

  void RunShutdownHooks() {
    for (auto it = shutdown_.rbegin(); it != shutdown_.rend(); ++it)
      (*it)();
    shutdown_.clear();
  }

 private:
  struct Check {
    std::string name;
    std::function<Status()> check;
    prometheus::Gauge* up;
  };

  ServiceInfo info_;
  ConfigReader& reader_;
  std::shared_ptr<metrics::Registry> metrics_;
  http::Server& server_;
  bool pg_created_ = false;
  bool kafka_created_ = false;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<Check> checks_;
  std::vector<std::function<void()>> shutdown_;
};

http::ServerOptions ReadServerOptions(const ServiceInfo& info, ConfigReader& r) {
  http::ServerOptions o;
  o.service = info.name;
  o.listen = r.String("PORTCULLIS_HTTP_LISTEN", info.default_listen);
  if (auto addr = http::ParseListenAddress(o.listen); !addr.ok()) {
    r.AddError("PORTCULLIS_HTTP_LISTEN", addr.status().message());
  }
  // Handlers block on PostgreSQL: a few more threads than cores keep both
  // cores busy while some requests wait on the database.
  o.threads = static_cast<int>(r.Int("PORTCULLIS_HTTP_THREADS", 4, 1, 64));
  o.max_body_bytes =
      static_cast<std::size_t>(r.Int("PORTCULLIS_HTTP_MAX_BODY_BYTES", 1 << 20, 1024, 64 << 20));
  o.header_timeout = r.Millis("PORTCULLIS_HTTP_HEADER_TIMEOUT_MS", info.default_header_timeout,
                              milliseconds(100), milliseconds(600000));
  o.body_timeout = r.Millis("PORTCULLIS_HTTP_BODY_TIMEOUT_MS", milliseconds(30000),
                            milliseconds(100), milliseconds(600000));
  o.keepalive_timeout = r.Millis("PORTCULLIS_HTTP_KEEPALIVE_TIMEOUT_MS", milliseconds(60000),
                                 milliseconds(100), milliseconds(3600000));
  o.allow_plaintext = r.Bool("PORTCULLIS_TLS_DISABLE", false);
  o.tls_cert_file = r.String("PORTCULLIS_TLS_CERT", "");
  o.tls_key_file = r.String("PORTCULLIS_TLS_KEY", "");
  if (!o.allow_plaintext) {
    if (o.tls_cert_file.empty()) {
      r.AddError("PORTCULLIS_TLS_CERT",
                 "is required (or set PORTCULLIS_TLS_DISABLE=true for local development only)");
    } else if (access(o.tls_cert_file.c_str(), R_OK) != 0) {
      r.AddError("PORTCULLIS_TLS_CERT", "cannot read '" + o.tls_cert_file + "'");
    }
    if (o.tls_key_file.empty()) {
      r.AddError("PORTCULLIS_TLS_KEY", "is required with PORTCULLIS_TLS_CERT");
    } else if (access(o.tls_key_file.c_str(), R_OK) != 0) {
      r.AddError("PORTCULLIS_TLS_KEY", "cannot read '" + o.tls_key_file + "'");
    }
  }
  return o;
}

}  // namespace

int Main(const ServiceInfo& info, int argc, char** argv, const SetupFn& setup) {
  std::string config_file;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_file = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_file = arg.substr(9);
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::printf("portcullis-%s %s\n", info.name.c_str(), kVersion);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      PrintUsage(info, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "portcullis-%s: unknown argument '%s'\n\n", info.name.c_str(),
                   arg.c_str());
      PrintUsage(info, stderr);
      return 2;
    }
  }

  // Block the shutdown signals before any thread starts, so every thread
  // inherits the mask and only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // NOLINT: a closed peer is an error return, not a death

  log::Init({.service = info.name, .level = log::Level::kInfo});
  StatusOr<ConfigMap> map = ConfigMap::Load(config_file, environ);
  if (!map.ok()) {
    log::Error("configuration error", {{"error", map.status().message()}});
    return 2;
  }
  ConfigReader reader(*map);
  std::string level =
      reader.Enum("PORTCULLIS_LOG_LEVEL", "info", {"debug", "info", "warn", "error"});
  log::Init({.service = info.name, .level = *log::ParseLevel(level)});

  auto metrics = std::make_shared<metrics::Registry>(info.name);
  http::Server server(ReadServerOptions(info, reader), metrics);
  ContextImpl ctx(info, reader, metrics, server);
  Status setup_status = setup(ctx);
  Status config_status = reader.Finish();
  if (!config_status.ok()) {
    log::Error("configuration error", {{"error", config_status.message()}});
    std::fprintf(stderr, "portcullis-%s: %s\n", info.name.c_str(), config_status.message().c_str());
    return 2;
  }
  if (!setup_status.ok()) {
    log::Error("setup failed", {{"error", setup_status.ToString()}});
    return 1;
  }
  if (std::vector<std::string> unused = reader.UnusedKeys(); !unused.empty()) {
    log::Info("configuration keys not used by this service", {{"keys", unused}});
  }
  if (check_only) {
    std::printf("portcullis-%s: configuration OK\n", info.name.c_str());
    return 0;
  }

  http::RouteOptions probe{.authenticate = false, .access_log = false};
  server.Route(
      http::Method::kGet, "/healthz",
      [&info](const http::Request&) {
        return http::Response::Json(
            200, {{"status", "ok"}, {"service", info.name}, {"version", kVersion}});
      },
      probe);
  server.Route(
      http::Method::kGet, "/readyz", [&ctx](const http::Request&) { return ctx.Ready(); }, probe);
  server.Route(
      http::Method::kGet, "/metrics",
      [&metrics](const http::Request&) {
        http::Response r;
        r.body = metrics->Serialize();
        r.content_type = metrics::Registry::kContentType;
        return r;
      },
      probe);

  if (Status s = server.Start(); !s.ok()) {
    log::Error("cannot start", {{"error", s.ToString()}});
    ctx.RunShutdownHooks();
    return 1;
  }
  log::Info("started", {{"version", kVersion}, {"port", server.port()}});

  int sig = 0;
  sigwait(&signals, &sig);
  log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.Shutdown();
  ctx.RunShutdownHooks();
  log::Info("stopped");
  return 0;
}

}  // namespace portcullis::service
