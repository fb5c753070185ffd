// Event ingestion benchmark: events per second from an agent's POST /v1/events
// (ingest) through Kafka and the indexer until they can be queried in
// PostgreSQL, beside a baseline measured in the same run on the same machine
// and the same events table: the raw COPY rate of equivalent rows. Also the
// latency from the 202 to "queryable" at about half the maximum load, and the
// CPU that ingest and the indexer spend per 1,000 events.
//
//   build/bin/ingest_bench --config=/tmp/pc/infra.env --registry-port=8443
//       --ingest-port=8445 --indexer-port=8447[,8448...] [--events=200000]
//
// Normally run by tests/bench/ingest_bench.sh, which starts the services (see
// tests/bench/README.md). Phases, in this order:
//   1. baselines: N rows COPYed straight into events (PostgreSQL's superuser,
//      one transaction per --copy-batch rows, the COPY text the indexer
//      makes), then N rows through the indexer's own writer (PgEventWriter,
//      as portcullis_indexer: COPY in a savepoint), each for a tenant of its
//      own;
//   2. warm-up: --warmup-events (at least one batch per agent), waited for
//      until queryable;
//   3. throughput: N events in batches from --senders threads (one TLS
//      keep-alive connection each, taking turns over --agents-per-sender agent
//      credentials), as fast as the 202s come back; timed from the first send
//      until all N are queryable: the indexers' written counter has grown by
//      N and count(*) for the tenant confirms it (--end-by=count polls
//      count(*) instead, which loads PostgreSQL with a scan per poll);
//   4. latency: the senders paced at --latency-load-pct of the throughput of
//      phase 3 for --latency-seconds; for --samples-per-batch events of each
//      batch, the time from its 202 until a SELECT finds it by primary key.
//
// Prints its figures to stdout (progress to stderr); asserts nothing about
// timing. Exit status: 0 when every accepted event is in the table exactly
// once and no request failed, 1 otherwise, 2 when the setup failed.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "domain/rows.h"
#include "portcullis/common/config.h"
#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"
#include "portcullis/http/client.h"
#include "portcullis/pg/pool.h"
#include "portcullis/v1/event.pb.h"
#include "storage/pg_event_writer.h"

namespace {

using namespace portcullis;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string config;  // the infra env file: DSNs, CA, operator token file
  int registry_port = 0;
  int ingest_port = 0;
  std::vector<int> indexer_ports;  // one or more indexers of the same consumer group
  int events = 200000;
  int batch = 1000;
  int senders = 4;
  int agents_per_sender = 4;  // 16 agents: the Kafka keys, spread over the partitions
  // Sent (and waited for until queryable) before the measured run: warms the
  // broker's JIT (a fresh Kafka spends 3x the CPU per event for a while), the
  // connections, the consumer group's assignment and PostgreSQL's caches.
  int warmup_events = 50000;
  int copy_batch = 5000;  // rows per transaction of the baselines (the indexer's max batch)
  int latency_seconds = 15;
  int latency_load_pct = 50;  // of the end-to-end throughput
  int samples_per_batch = 10;
  int poll_ms = 20;
  int drain_timeout_s = 120;  // after the last 202, for the last event to be queryable
  int find_timeout_s = 30;    // after its 202, for a sampled event to be found
  int max_attempts = 5;       // per batch, for 503/429/transport errors
  int ingest_pid = 0;
  std::vector<int> indexer_pids;
  int pg_pid = 0;
  int kafka_pid = 0;
  int partitions = 12;  // of the topic (for the report only)
  // How the end of the throughput run is seen: "metric" polls the indexer's
  // written counter (cheap), then confirms with one count(*); "count" polls
  // count(*) itself, which costs PostgreSQL a scan of the tenant's rows per
  // poll (~100 ms of CPU at 300k rows) and so slows what it measures.
  std::string end_by = "metric";
  std::string run_id;
};

const char kUsage[] =
    "usage: ingest_bench --config=ENVFILE --registry-port=N --ingest-port=N "
    "--indexer-port=N[,N...]\n"
    "         [--events=200000] [--batch=1000] [--senders=4] [--agents-per-sender=4]\n"
    "         [--warmup-events=50000] [--copy-batch=5000]\n"
    "         [--latency-seconds=15] [--latency-load-pct=50] [--samples-per-batch=10]\n"
    "         [--poll-ms=20] [--drain-timeout=120] [--find-timeout=30] [--max-attempts=5]\n"
    "         [--ingest-pid=PID] [--indexer-pid=PID[,PID...]] [--pg-pid=PID] [--kafka-pid=PID]\n"
    "         [--partitions=12]\n"
    "         [--end-by=metric|count] [--run-id=ID]\n";

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  std::map<std::string, int*> ints = {{"registry-port", &f.registry_port},
                                      {"ingest-port", &f.ingest_port},
                                      {"events", &f.events},
                                      {"batch", &f.batch},
                                      {"senders", &f.senders},
                                      {"agents-per-sender", &f.agents_per_sender},
                                      {"copy-batch", &f.copy_batch},
                                      {"warmup-events", &f.warmup_events},
                                      {"latency-seconds", &f.latency_seconds},
                                      {"latency-load-pct", &f.latency_load_pct},
                                      {"samples-per-batch", &f.samples_per_batch},
                                      {"poll-ms", &f.poll_ms},
                                      {"drain-timeout", &f.drain_timeout_s},
                                      {"find-timeout", &f.find_timeout_s},
                                      {"max-attempts", &f.max_attempts},
                                      {"ingest-pid", &f.ingest_pid},
                                      {"pg-pid", &f.pg_pid},
                                      {"kafka-pid", &f.kafka_pid},
                                      {"partitions", &f.partitions}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "ingest_bench: bad argument '%s'\n%s", a.c_str(), kUsage);
      return std::nullopt;
    }
    std::string name = a.substr(2, eq - 2), value = a.substr(eq + 1);
    if (name == "config") {
      f.config = value;
    } else if (name == "indexer-port" || name == "indexer-pid") {
      std::vector<int>& list = name == "indexer-port" ? f.indexer_ports : f.indexer_pids;
      std::istringstream items(value);
      for (std::string item; std::getline(items, item, ',');) {
        char* end = nullptr;
        long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v <= 0 || v > 100000000) {
          std::fprintf(stderr, "ingest_bench: --%s must be a list of positive numbers\n",
                       name.c_str());
          return std::nullopt;
        }
        list.push_back(static_cast<int>(v));
      }
    } else if (name == "end-by") {
      f.end_by = value;
    } else if (name == "run-id") {
      f.run_id = value;
    } else if (auto it = ints.find(name); it != ints.end()) {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < 0 || v > 100000000) {
        std::fprintf(stderr, "ingest_bench: --%s must be a number in [0, 100000000]\n",
                     name.c_str());
        return std::nullopt;
      }
      *it->second = static_cast<int>(v);
    } else {
      std::fprintf(stderr, "ingest_bench: unknown flag --%s\n%s", name.c_str(), kUsage);
      return std::nullopt;
    }
  }
  auto port_ok = [](int p) { return p > 0 && p <= 65535; };
  if (f.config.empty() || !port_ok(f.registry_port) || !port_ok(f.ingest_port) ||
      f.indexer_ports.empty() ||
      !std::all_of(f.indexer_ports.begin(), f.indexer_ports.end(), port_ok) || f.events < 1 ||
      f.batch < 1 || f.batch > 5000 || f.senders < 1 || f.agents_per_sender < 1 ||
      f.copy_batch < 1 || f.latency_load_pct < 1 || f.samples_per_batch < 1 ||
      f.samples_per_batch > f.batch || f.poll_ms < 1 || f.drain_timeout_s < 1 ||
      f.find_timeout_s < 1 || f.max_attempts < 1 || (f.end_by != "metric" && f.end_by != "count")) {
    std::fprintf(stderr, "%s", kUsage);
    return std::nullopt;
  }
  if (f.run_id.empty()) {
    std::random_device rd;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%lld-%08x", static_cast<long long>(std::time(nullptr)), rd());
    f.run_id = buf;
  }
  return f;
}

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// --- CPU accounting -----------------------------------------------------------

double TickMs() {
  return 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The fields of /proc/PID/stat after the command name: [1] is the parent,
// [11] and [12] utime and stime, [13] and [14] those of its children that
// exited (clock ticks). Empty when the process is gone.
std::vector<std::string> ProcStat(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t paren = stat.rfind(')');
  std::vector<std::string> fields;
  if (paren == std::string::npos) return fields;
  std::istringstream rest(stat.substr(paren + 1));
  for (std::string field; fields.size() < 15 && rest >> field;)
    fields.push_back(field);
  if (fields.size() < 15) fields.clear();
  return fields;
}

double ProcCpuMs(const std::vector<std::string>& stat) {
  if (stat.empty()) return 0;
  return (std::strtod(stat[11].c_str(), nullptr) + std::strtod(stat[12].c_str(), nullptr)) *
         TickMs();
}

// CPU time in ms used so far by each process of the pipeline, this process
// (the load generator), interrupts and the whole machine. All but this
// process's come in clock ticks (10 ms). NAN for a pid that is not known.
struct CpuSample {
  double ingest_ms = NAN;
  double indexer_ms = NAN;
  double pg_ms = NAN;  // the postmaster and its children (the backends)
  double kafka_ms = NAN;
  double self_ms = 0;
  double irq_ms = 0;
  double machine_ms = 0;

  static CpuSample Take(const Flags& f) {
    CpuSample c;
    auto one = [](int pid) {
      return pid > 0 ? ProcCpuMs(ProcStat(std::to_string(pid))) : static_cast<double>(NAN);
    };
    c.ingest_ms = one(f.ingest_pid);
    if (!f.indexer_pids.empty()) {
      c.indexer_ms = 0;
      for (int pid : f.indexer_pids)
        c.indexer_ms += one(pid);
    }
    c.kafka_ms = one(f.kafka_pid);
    if (f.pg_pid > 0) {
      const std::string parent = std::to_string(f.pg_pid);
      // The postmaster, the backends that exited (autovacuum workers come and
      // go) and the live ones.
      const std::vector<std::string> postmaster = ProcStat(parent);
      c.pg_ms = ProcCpuMs(postmaster);
      if (!postmaster.empty()) {
        c.pg_ms += (std::strtod(postmaster[13].c_str(), nullptr) +
                    std::strtod(postmaster[14].c_str(), nullptr)) *
                   TickMs();
      }
      for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::vector<std::string> stat = ProcStat(name);
        if (!stat.empty() && stat[1] == parent) c.pg_ms += ProcCpuMs(stat);
      }
    }
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    c.self_ms = static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;  // "cpu": user nice system idle iowait irq softirq steal ...
    double v, busy = 0, irq = 0;
    for (int i = 0; i < 8 && in >> v; ++i) {
      if (i != 3 && i != 4) busy += v;
      if (i == 5 || i == 6) irq += v;
    }
    c.irq_ms = irq * TickMs();
    c.machine_ms = busy * TickMs();
    return c;
  }
  CpuSample operator-(const CpuSample& o) const {
    return {ingest_ms - o.ingest_ms,  indexer_ms - o.indexer_ms, pg_ms - o.pg_ms,
            kafka_ms - o.kafka_ms,    self_ms - o.self_ms,       irq_ms - o.irq_ms,
            machine_ms - o.machine_ms};
  }
  // What none of the above used: other programs, kernel threads.
  double rest_ms() const {
    return machine_ms - ingest_ms - indexer_ms - pg_ms - kafka_ms - self_ms - irq_ms;
  }
};

// --- HTTP -----------------------------------------------------------------------

// JSON over one keep-alive HTTPS connection, for the setup.
class JsonApi {
 public:
  JsonApi(int port, const std::string& ca)
      : client_({.port = static_cast<std::uint16_t>(port),
                 .ca_file = ca,
                 .timeout = std::chrono::seconds(30)}) {}

  StatusOr<json> Call(const std::string& method, const std::string& path,
                      const std::string& credential, const json& body, int want) {
    StatusOr<http::ClientResponse> r =
        client_.Send(method, path, body.is_null() ? std::string() : body.dump(),
                     {{"Authorization", "Bearer " + credential}});
    if (!r.ok()) return r.status().WithContext(method + " " + path);
    if (r->status != want) {
      return UnavailableError(method + " " + path + ": HTTP " + std::to_string(r->status) +
                              " (wanted " + std::to_string(want) + "): " + r->body.substr(0, 300));
    }
    json j = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InternalError(method + " " + path + ": the body is not JSON");
    return j;
  }

 private:
  http::Client client_;
};

StatusOr<std::string> Field(const json& j, const char* pointer) {
  const json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_string()) {
    return InternalError(std::string("the answer has no string at ") + pointer);
  }
  return j.at(p).get<std::string>();
}

// One sample of a Prometheus text exposition: its name, labels and value.
struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the exposition (comments skipped; label values may hold '{', '}').
std::vector<MetricSample> ParseMetrics(const std::string& text) {
  std::vector<MetricSample> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    std::size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) continue;
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key = line.substr(i, eq - i), value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value += line[j];
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    s.value = std::strtod(line.c_str() + std::min(i, line.size()), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<std::vector<MetricSample>> FetchMetrics(http::Client& c) {
  StatusOr<http::ClientResponse> r = c.Send("GET", "/metrics");
  if (!r.ok()) return r.status().WithContext("GET /metrics");
  if (r->status != 200) return UnavailableError("GET /metrics: HTTP " + std::to_string(r->status));
  return ParseMetrics(r->body);
}

// The indexers' /metrics, one keep-alive connection each; their samples
// concatenated, so that MetricSum adds them up.
class IndexerMetrics {
 public:
  IndexerMetrics(const std::vector<int>& ports, const std::string& ca) {
    for (int port : ports) {
      clients_.push_back(std::make_unique<http::Client>(
          http::ClientOptions{.port = static_cast<std::uint16_t>(port), .ca_file = ca}));
    }
  }
  StatusOr<std::vector<MetricSample>> Fetch() {
    std::vector<MetricSample> all;
    for (auto& c : clients_) {
      PORTCULLIS_ASSIGN_OR_RETURN(std::vector<MetricSample> m, FetchMetrics(*c));
      all.insert(all.end(), std::make_move_iterator(m.begin()), std::make_move_iterator(m.end()));
    }
    return all;
  }

 private:
  std::vector<std::unique_ptr<http::Client>> clients_;
};

// Sum of the samples named `name` whose labels include every pair of `want`.
double MetricSum(const std::vector<MetricSample>& samples, const std::string& name,
                 const std::map<std::string, std::string>& want = {}) {
  double sum = 0;
  for (const MetricSample& s : samples) {
    if (s.name != name) continue;
    bool match = std::all_of(want.begin(), want.end(), [&](const auto& kv) {
      auto it = s.labels.find(kv.first);
      return it != s.labels.end() && it->second == kv.second;
    });
    if (match) sum += s.value;
  }
  return sum;
}

// --- events ---------------------------------------------------------------------

struct Agent {
  std::string id;
  std::string credential;
  std::string container_id;
  std::string hostname;
};

std::int64_t NowUnixNano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The i-th event of an agent: what an agent reports, half file accesses, half
// outbound connections, one in ten a denial. A unique random 16-byte id.
v1::Event MakeEvent(const Agent& agent, std::uint64_t i, std::int64_t unix_nano) {
  v1::Event e;
  e.set_event_id(Uuid::Random().Binary());
  e.set_time_unix_nano(unix_nano);
  e.set_container_id(agent.container_id);
  e.set_image("registry.example/bench/app:1.4.2");
  e.set_hostname(agent.hostname);
  v1::Process* p = e.mutable_process();
  p->set_pid(static_cast<std::int32_t>(1000 + i % 64));
  p->set_ppid(1);
  p->set_uid(1000);
  p->set_gid(1000);
  p->set_executable("/usr/local/bin/app");
  const bool deny = i % 10 == 9;
  if (i % 2 == 0) {
    e.set_syscall("openat");
    e.set_category(v1::CATEGORY_FILE);
    v1::FileTarget* file = e.mutable_file();
    file->set_path("/var/lib/app/data/segment-" + std::to_string(i % 1000) + ".db");
    file->set_operation(deny ? "write" : "read");
    if (deny) e.set_rule_id("protect-data");
  } else {
    e.set_syscall("connect");
    e.set_category(v1::CATEGORY_NETWORK);
    v1::NetworkTarget* net = e.mutable_network();
    net->set_direction(v1::DIRECTION_OUTBOUND);
    net->set_protocol(v1::PROTOCOL_TCP);
    const char ip[4] = {10, 0, static_cast<char>((i >> 8) & 0x7f), static_cast<char>(i & 0x7f)};
    net->set_remote_ip(std::string(ip, 4));
    net->set_remote_port(deny ? 25 : 443);
    if (deny) e.set_rule_id("egress");
  }
  e.set_action(deny ? v1::ACTION_DENY : v1::ACTION_ALLOW);
  e.set_enforced(true);
  e.set_result(deny ? -13 : 0);
  return e;
}

// --- PostgreSQL -------------------------------------------------------------------

// Runs `fn` on a connection of its own; libpqxx exceptions become a Status.
template <typename Fn>
Status WithPg(pqxx::connection& conn, const char* what, Fn&& fn) {
  try {
    fn(conn);
    return OkStatus();
  } catch (...) {
    return pg::StatusFromCurrentException(what);
  }
}

StatusOr<long long> CountRows(pqxx::connection& conn, const std::string& tenant,
                              long long* distinct = nullptr) {
  long long n = 0;
  Status s = WithPg(conn, "count", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    if (distinct != nullptr) {
      pqxx::result r = tx.exec_params(
          "SELECT count(*), count(DISTINCT event_id) FROM events WHERE tenant_id = $1", tenant);
      n = r[0][0].as<long long>();
      *distinct = r[0][1].as<long long>();
    } else {
      pqxx::result r = tx.exec_params("SELECT count(*) FROM events WHERE tenant_id = $1", tenant);
      n = r[0][0].as<long long>();
    }
  });
  if (!s.ok()) return s;
  return n;
}

// Polls count(*) for `tenant` every poll_ms until it reaches `want`. Returns
// the start of the first query that saw it (its snapshot: every row was
// visible by then), or DeadlineExceeded.
StatusOr<Clock::time_point> WaitCount(pqxx::connection& conn, const std::string& tenant,
                                      long long want, const Flags& f, int timeout_s,
                                      long long* last, int* queries) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    const Clock::time_point at = Clock::now();
    PORTCULLIS_ASSIGN_OR_RETURN(*last, CountRows(conn, tenant));
    ++*queries;
    if (*last >= want) return at;
    if (Clock::now() > deadline) {
      return DeadlineExceededError("only " + std::to_string(*last) + " of " + std::to_string(want) +
                                   " events queryable after " + std::to_string(timeout_s) + " s");
    }
    std::this_thread::sleep_until(at + std::chrono::milliseconds(f.poll_ms));
  }
}

const char kWritten[] = "portcullis_indexer_events_total";

// Polls the indexer's count of rows written (incremented after the database
// commit and the offset commit, so never early) every poll_ms until it has
// grown by `want_delta` since `base`, then confirms with one count(*) that
// the tenant has `want` rows. Returns the start of the /metrics request that
// saw the last rows written. The topic is the run's own: every row the
// indexer writes is the tenant's.
StatusOr<Clock::time_point> WaitWritten(IndexerMetrics& indexer, double base, long long want_delta,
                                        pqxx::connection& conn, const std::string& tenant,
                                        long long want, const Flags& f, int timeout_s,
                                        long long* last, int* queries) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    const Clock::time_point at = Clock::now();
    PORTCULLIS_ASSIGN_OR_RETURN(std::vector<MetricSample> m, indexer.Fetch());
    ++*queries;
    const double written = MetricSum(m, kWritten, {{"outcome", "written"}}) - base;
    if (written >= static_cast<double>(want_delta)) {
      PORTCULLIS_ASSIGN_OR_RETURN(*last, CountRows(conn, tenant));
      if (*last >= want) return at;
      return InternalError("the indexer wrote " + std::to_string(written) +
                           " rows, but the tenant has " + std::to_string(*last) + " of " +
                           std::to_string(want));
    }
    if (Clock::now() > deadline) {
      return DeadlineExceededError("the indexer wrote only " + std::to_string(written) + " of " +
                                   std::to_string(want_delta) + " events after " +
                                   std::to_string(timeout_s) + " s");
    }
    std::this_thread::sleep_until(at + std::chrono::milliseconds(f.poll_ms));
  }
}

// --- baselines --------------------------------------------------------------------

// N rows as the indexer makes them (AppendRow of a stamped event) for
// `tenant`, in batches of copy_batch rows, timed like the senders' batches:
// the events of a batch share their time.
StatusOr<std::vector<indexer::RowBatch>> BaselineRows(const std::string& tenant, const Flags& f) {
  PORTCULLIS_ASSIGN_OR_RETURN(Uuid tenant_uuid, Uuid::Parse(tenant));
  Agent agent{Uuid::Random().ToString(), "", "bench-baseline", "bench-host-baseline"};
  const std::string agent_bytes = Uuid::Parse(agent.id)->Binary();
  std::vector<indexer::RowBatch> batches;
  const std::int64_t now = NowUnixNano();
  for (int i = 0; i < f.events; ++i) {
    if (i % f.copy_batch == 0) batches.emplace_back();
    v1::Event e = MakeEvent(agent, static_cast<std::uint64_t>(i),
                            now + static_cast<std::int64_t>(i / f.batch) * 1000000);
    e.set_tenant_id(tenant_uuid.Binary());
    e.set_agent_id(agent_bytes);
    PORTCULLIS_RETURN_IF_ERROR(indexer::AppendRow(e, batches.back()));
  }
  return batches;
}

// Every measured phase starts from the same database: no rows in events and
// a fresh checkpoint. Otherwise each phase writes into a bigger table than
// the one before (more of it outside shared_buffers, more index levels) and
// pays for the checkpoint and the autovacuum the earlier rows caused.
Status ResetEvents(pqxx::connection& conn) {
  return WithPg(conn, "TRUNCATE events; CHECKPOINT", [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("TRUNCATE events");
    tx.exec("CHECKPOINT");
  });
}

struct RateResult {
  long long rows = 0;
  double seconds = 0;
  double rate() const { return static_cast<double>(rows) / seconds; }
};

long long Rows(const std::vector<indexer::RowBatch>& batches) {
  long long n = 0;
  for (const auto& b : batches)
    n += static_cast<long long>(b.rows);
  return n;
}

// The same COPY text straight into events, one transaction per batch.
StatusOr<RateResult> RawCopy(pqxx::connection& conn,
                             const std::vector<indexer::RowBatch>& batches) {
  const auto start = Clock::now();
  for (const indexer::RowBatch& b : batches) {
    PORTCULLIS_RETURN_IF_ERROR(WithPg(conn, "COPY into events", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      indexer::CopyRows(tx, "events", b);
      tx.commit();
    }));
  }
  return RateResult{Rows(batches), Seconds(Clock::now() - start)};
}

// The indexer's write path: PgEventWriter, one Write per batch.
StatusOr<RateResult> WriterCopy(pg::Pool& pool, const std::vector<indexer::RowBatch>& batches) {
  indexer::PgEventWriter writer(pool);
  long long inserted = 0;
  const auto start = Clock::now();
  for (const indexer::RowBatch& b : batches) {
    PORTCULLIS_ASSIGN_OR_RETURN(indexer::WriteResult w, writer.Write(b));
    inserted += static_cast<long long>(w.inserted);
  }
  RateResult out{inserted, Seconds(Clock::now() - start)};
  if (inserted != Rows(batches)) {
    return InternalError("PgEventWriter inserted " + std::to_string(inserted) + " of " +
                         std::to_string(Rows(batches)) + " rows");
  }
  return out;
}

// --- senders ----------------------------------------------------------------------

// One sender: its keep-alive connection to ingest and the agents whose
// credentials it sends batches with. Used by one thread at a time (phases
// join their threads).
struct Sender {
  // Its agents take turns, one batch each: ingest keys the Kafka records by
  // agent, so the agents are what spreads the load over the partitions.
  std::vector<Agent> agents;
  std::size_t next_agent = 0;
  std::unique_ptr<http::Client> client;
  std::uint64_t next_event = 0;
  // Outcomes, for the report: status -> answers that were not a 202 (0: a
  // transport error), batches abandoned after max_attempts.
  std::map<int, long> non202;
  long gave_up = 0;
  long long accepted_events = 0;
  std::string first_error;
};

// A serialized EventBatch of one of the sender's agents.
struct Body {
  std::string bytes;
  std::size_t agent = 0;  // index in Sender::agents
  int events = 0;
};

// Posts `body` with its agent's credential until a 202, retrying what an
// agent retries (503, 429, transport errors) up to max_attempts. False when
// the batch was not accepted; `acked` is the 202's arrival.
bool Post(Sender& s, const Body& body, const Flags& f, Clock::time_point* acked) {
  for (int attempt = 1; attempt <= f.max_attempts; ++attempt) {
    StatusOr<http::ClientResponse> r =
        s.client->Send("POST", "/v1/events", body.bytes,
                       {{"Authorization", "Bearer " + s.agents[body.agent].credential},
                        {"Content-Type", "application/x-protobuf"}});
    *acked = Clock::now();
    if (r.ok() && r->status == 202) {
      s.accepted_events += body.events;
      return true;
    }
    const int code = r.ok() ? r->status : 0;
    ++s.non202[code];
    if (s.first_error.empty()) {
      s.first_error = r.ok() ? "HTTP " + std::to_string(code) + ": " + r->body.substr(0, 300)
                             : r.status().ToString();
    }
    if (code != 0 && code != 503 && code != 429) break;  // not worth retrying
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ++s.gave_up;
  return false;
}

// An event whose latency is measured: its id and its time (microseconds since
// the epoch, as the ts column stores it), together its primary key.
struct SampledId {
  std::string id;
  std::int64_t unix_micros = 0;
};

// A serialized batch of n new events of the sender's next agent, all timed now;
// `samples` of them, evenly spaced, are added to `ids`.
Body BatchBody(Sender& s, int n, std::vector<SampledId>* ids = nullptr, int samples = 0) {
  v1::EventBatch b;
  const std::int64_t now = NowUnixNano();
  const std::size_t agent = s.next_agent++ % s.agents.size();
  for (int i = 0; i < n; ++i) {
    v1::Event* e = b.add_events();
    *e = MakeEvent(s.agents[agent], s.next_event++, now);
    if (ids != nullptr && i % (n / samples) == 0 && static_cast<int>(ids->size()) < samples) {
      std::array<std::uint8_t, 16> bytes;
      std::copy(e->event_id().begin(), e->event_id().end(), bytes.begin());
      ids->push_back({Uuid(bytes).ToString(), now / 1000});
    }
  }
  return {b.SerializeAsString(), agent, n};
}

// --- latency --------------------------------------------------------------------

struct Sample {
  SampledId key;
  Clock::time_point sent;
  Clock::time_point acked;
  std::optional<Clock::time_point> found;
};

// The sampled events of the latency phase: senders add them at their 202,
// the poller marks them found.
struct Samples {
  std::mutex mu;
  std::vector<Sample> all;
  std::vector<std::size_t> pending;  // indexes into all, not yet found
  bool senders_done = false;
};

// Every poll_ms: one SELECT for the pending sampled ids; a found event's time
// is the start of the query that found it (its snapshot). Ends when the
// senders are done and nothing is pending, or a pending event is older than
// find_timeout_s after its 202.
Status PollSamples(pqxx::connection& conn, const std::string& tenant, Samples& samples,
                   const Flags& f, int* queries, double* query_ms) {
  // One probe of the primary key (tenant_id, event_id, ts) per event, its
  // partition pruned by ts. The obvious "event_id = ANY($2)" is planned from
  // statistics taken before the tenant's rows arrived (one row expected) as a
  // scan of all the tenant's rows through (tenant_id, ts): 80 ms at 300k rows,
  // enough to slow the pipeline being measured.
  const std::string sql =
      "SELECT q.id::text FROM unnest($2::uuid[], $3::bigint[]) AS q(id, us) CROSS JOIN LATERAL "
      "(SELECT 1 FROM events e WHERE e.tenant_id = $1 AND e.event_id = q.id "
      "AND e.ts = timestamptz 'epoch' + q.us * interval '1 microsecond' LIMIT 1) AS hit";
  for (;;) {
    const Clock::time_point at = Clock::now();
    std::vector<std::size_t> ask;
    std::string ids = "{", micros = "{";
    bool done = false;
    {
      std::lock_guard<std::mutex> lock(samples.mu);
      done = samples.senders_done && samples.pending.empty();
      for (std::size_t idx : samples.pending) {
        if (ask.size() >= 2000) break;
        if (!ask.empty()) {
          ids += ',';
          micros += ',';
        }
        ids += samples.all[idx].key.id;
        micros += std::to_string(samples.all[idx].key.unix_micros);
        ask.push_back(idx);
      }
      if (!samples.pending.empty() && at - samples.all[samples.pending.front()].acked >
                                          std::chrono::seconds(f.find_timeout_s)) {
        return DeadlineExceededError("a sampled event was not queryable " +
                                     std::to_string(f.find_timeout_s) + " s after its 202");
      }
    }
    if (done) return OkStatus();
    ids += '}';
    micros += '}';
    if (!ask.empty()) {
      std::vector<std::string> found;
      PORTCULLIS_RETURN_IF_ERROR(WithPg(conn, "sample query", [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        for (const auto& row : tx.exec_params(sql, tenant, ids, micros))
          found.push_back(row[0].as<std::string>());
      }));
      ++*queries;
      *query_ms += Ms(Clock::now() - at);
      std::sort(found.begin(), found.end());
      std::lock_guard<std::mutex> lock(samples.mu);
      std::vector<std::size_t> still;
      for (std::size_t idx : samples.pending) {
        Sample& s = samples.all[idx];
        if (std::binary_search(found.begin(), found.end(), s.key.id)) {
          s.found = at;
        } else {
          still.push_back(idx);
        }
      }
      samples.pending = std::move(still);
    }
    std::this_thread::sleep_until(at + std::chrono::milliseconds(f.poll_ms));
  }
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  std::size_t rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// --- setup ----------------------------------------------------------------------

struct Tenant {
  std::string id;
  std::string admin;
};

StatusOr<Tenant> CreateTenant(JsonApi& registry, const std::string& operator_token,
                              const std::string& name) {
  PORTCULLIS_ASSIGN_OR_RETURN(
      json t, registry.Call("POST", "/v1/tenants", operator_token, {{"name", name}}, 201));
  Tenant out;
  PORTCULLIS_ASSIGN_OR_RETURN(out.id, Field(t, "/tenant/id"));
  PORTCULLIS_ASSIGN_OR_RETURN(out.admin, Field(t, "/admin_key/secret"));
  return out;
}

StatusOr<std::vector<Agent>> RegisterAgents(JsonApi& registry, const Tenant& tenant,
                                            const std::string& name, int n) {
  PORTCULLIS_ASSIGN_OR_RETURN(json token, registry.Call("POST", "/v1/enrollment-tokens",
                                                        tenant.admin, {{"name", name}}, 201));
  PORTCULLIS_ASSIGN_OR_RETURN(const std::string enrollment, Field(token, "/secret"));
  std::vector<Agent> agents;
  for (int i = 0; i < n; ++i) {
    Agent a;
    a.container_id = name + "-c" + std::to_string(i);
    a.hostname = "bench-host-" + std::to_string(i);
    PORTCULLIS_ASSIGN_OR_RETURN(json r, registry.Call("POST", "/v1/agents/register", enrollment,
                                                      {{"container_id", a.container_id},
                                                       {"image_name", "registry.example/bench/app"},
                                                       {"hostname", a.hostname},
                                                       {"labels", {{"bench", "ingest"}}},
                                                       {"agent_version", "bench"},
                                                       {"kernel_version", "6.1.0"}},
                                                      201));
    PORTCULLIS_ASSIGN_OR_RETURN(a.id, Field(r, "/agent_id"));
    PORTCULLIS_ASSIGN_OR_RETURN(a.credential, Field(r, "/credential"));
    agents.push_back(std::move(a));
  }
  return agents;
}

// Runs fn(sender_index) on one thread per sender, all released at once;
// returns the release time.
template <typename Fn>
Clock::time_point RunSenders(std::vector<Sender>& senders, Fn fn) {
  std::latch ready(static_cast<std::ptrdiff_t>(senders.size()) + 1);
  std::latch go(1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < senders.size(); ++i) {
    threads.emplace_back([&, i] {
      ready.count_down();
      go.wait();
      fn(i);
    });
  }
  ready.arrive_and_wait();
  const Clock::time_point start = Clock::now();
  go.count_down();
  for (std::thread& t : threads)
    t.join();
  return start;
}

void PrintCpuRow(const char* label, const CpuSample& c, double seconds, double kevents) {
  auto per = [&](double ms) { return ms / kevents; };
  std::printf("%-34s %7.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", label, per(c.ingest_ms),
              per(c.indexer_ms), per(c.pg_ms), per(c.kafka_ms), per(c.self_ms),
              per(c.irq_ms + std::max(0.0, c.rest_ms())), per(c.machine_ms));
  std::printf("%-34s %7.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", "  (cores busy)",
              c.ingest_ms / seconds / 1e3, c.indexer_ms / seconds / 1e3, c.pg_ms / seconds / 1e3,
              c.kafka_ms / seconds / 1e3, c.self_ms / seconds / 1e3,
              (c.irq_ms + std::max(0.0, c.rest_ms())) / seconds / 1e3,
              c.machine_ms / seconds / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Flags> parsed = ParseFlags(argc, argv);
  if (!parsed) return 2;
  const Flags f = *parsed;
  auto setup_failed = [](const Status& s) {
    std::fprintf(stderr, "ingest_bench: setup failed: %s\n", s.ToString().c_str());
    return 2;
  };

  StatusOr<ConfigMap> config = ConfigMap::Load(f.config, nullptr);
  if (!config.ok()) return setup_failed(config.status());
  auto get = [&](const char* key) {
    const ConfigMap::Entry* e = config->Find(key);
    return e != nullptr ? e->value : std::string();
  };
  const std::string ca = get("PORTCULLIS_TLS_CA");
  const std::string indexer_dsn = get("PORTCULLIS_PG_INDEXER_DSN");  // the writer baseline's
  const std::string admin_dsn = get("PORTCULLIS_PG_ADMIN_DSN");
  std::string operator_token;
  {
    std::ifstream in(get("PORTCULLIS_OPERATOR_TOKEN_FILE"));
    if (ca.empty() || indexer_dsn.empty() || admin_dsn.empty() || !(in >> operator_token)) {
      return setup_failed(InvalidArgumentError(
          f.config +
          " lacks PORTCULLIS_TLS_CA, PORTCULLIS_PG_INDEXER_DSN, PORTCULLIS_PG_ADMIN_DSN or a "
          "readable PORTCULLIS_OPERATOR_TOKEN_FILE"));
    }
  }

  // --- setup: tenants, agents, connections ---
  JsonApi registry(f.registry_port, ca);
  const std::string prefix = "bench-ingest-" + f.run_id;
  StatusOr<Tenant> copy_tenant = CreateTenant(registry, operator_token, prefix + "-copy");
  if (!copy_tenant.ok()) return setup_failed(copy_tenant.status());
  StatusOr<Tenant> writer_tenant = CreateTenant(registry, operator_token, prefix + "-writer");
  if (!writer_tenant.ok()) return setup_failed(writer_tenant.status());
  StatusOr<Tenant> tenant = CreateTenant(registry, operator_token, prefix + "-e2e");
  if (!tenant.ok()) return setup_failed(tenant.status());
  StatusOr<std::vector<Agent>> agents =
      RegisterAgents(registry, *tenant, prefix, f.senders * f.agents_per_sender);
  if (!agents.ok()) return setup_failed(agents.status());
  std::vector<Sender> senders(static_cast<std::size_t>(f.senders));
  for (std::size_t i = 0; i < senders.size(); ++i) {
    for (int k = 0; k < f.agents_per_sender; ++k)
      senders[i].agents.push_back((*agents)[static_cast<std::size_t>(k * f.senders) + i]);
    senders[i].client = std::make_unique<http::Client>(
        http::ClientOptions{.port = static_cast<std::uint16_t>(f.ingest_port),
                            .ca_file = ca,
                            .timeout = std::chrono::seconds(30)});
  }
  std::unique_ptr<pqxx::connection> admin;
  if (Status s =
          [&] {
            try {
              admin = std::make_unique<pqxx::connection>(admin_dsn);
              return OkStatus();
            } catch (...) {
              return pg::StatusFromCurrentException("connect (admin DSN)");
            }
          }();
      !s.ok()) {
    return setup_failed(s);
  }
  StatusOr<std::unique_ptr<pg::Pool>> pool = pg::Pool::Create(
      {.dsn = indexer_dsn, .size = 1, .statement_timeout = std::chrono::milliseconds(60000)});
  if (!pool.ok()) return setup_failed(pool.status());
  http::Client ingest_metrics({.port = static_cast<std::uint16_t>(f.ingest_port), .ca_file = ca});
  IndexerMetrics indexer_metrics(f.indexer_ports, ca);
  StatusOr<std::vector<MetricSample>> ingest_m0 = FetchMetrics(ingest_metrics);
  if (!ingest_m0.ok()) return setup_failed(ingest_m0.status());
  StatusOr<std::vector<MetricSample>> indexer_m0 = indexer_metrics.Fetch();
  if (!indexer_m0.ok()) return setup_failed(indexer_m0.status());
  std::fprintf(stderr, "ingest_bench: tenants %s-{copy,writer,e2e}, %d agents registered\n",
               prefix.c_str(), f.senders);

  // --- 1. baselines ---
  StatusOr<std::vector<indexer::RowBatch>> copy_rows = BaselineRows(copy_tenant->id, f);
  if (!copy_rows.ok()) return setup_failed(copy_rows.status());
  if (Status s = ResetEvents(*admin); !s.ok()) return setup_failed(s);
  const CpuSample raw_cpu0 = CpuSample::Take(f);
  StatusOr<RateResult> raw = RawCopy(*admin, *copy_rows);
  const CpuSample raw_cpu = CpuSample::Take(f) - raw_cpu0;
  if (!raw.ok()) return setup_failed(raw.status().WithContext("raw COPY baseline"));
  copy_rows->clear();
  std::fprintf(stderr, "ingest_bench: raw COPY: %lld rows in %.2f s (%.0f rows/s)\n", raw->rows,
               raw->seconds, raw->rate());
  StatusOr<std::vector<indexer::RowBatch>> writer_rows = BaselineRows(writer_tenant->id, f);
  if (!writer_rows.ok()) return setup_failed(writer_rows.status());
  if (Status s = ResetEvents(*admin); !s.ok()) return setup_failed(s);
  const CpuSample writer_cpu0 = CpuSample::Take(f);
  StatusOr<RateResult> written = WriterCopy(**pool, *writer_rows);
  const CpuSample writer_cpu = CpuSample::Take(f) - writer_cpu0;
  if (!written.ok()) return setup_failed(written.status().WithContext("PgEventWriter baseline"));
  std::fprintf(stderr, "ingest_bench: PgEventWriter: %lld rows in %.2f s (%.0f rows/s)\n",
               written->rows, written->seconds, written->rate());

  int rc = 0;
  long long expected = 0;  // events of the e2e tenant accepted so far
  // --- 2. warm-up: at least one batch per agent, until queryable ---
  {
    const std::size_t per_sender = std::max<std::size_t>(
        senders[0].agents.size(), static_cast<std::size_t>(f.warmup_events) /
                                      (senders.size() * static_cast<std::size_t>(f.batch)));
    RunSenders(senders, [&](std::size_t i) {
      Clock::time_point acked;
      for (std::size_t k = 0; k < per_sender; ++k)
        Post(senders[i], BatchBody(senders[i], f.batch), f, &acked);
    });
    for (const Sender& s : senders)
      expected += s.accepted_events;
    long long last = 0;
    int queries = 0;
    StatusOr<Clock::time_point> at =
        WaitCount(*admin, tenant->id, expected, f, 60, &last, &queries);
    if (!at.ok()) return setup_failed(at.status().WithContext("warm-up"));
    std::fprintf(stderr, "ingest_bench: warm-up: %lld events queryable\n", expected);
  }
  // The warm-up's rows go too: the checks count from here.
  if (Status s = ResetEvents(*admin); !s.ok()) return setup_failed(s);
  expected = 0;

  // --- 3. throughput ---
  std::vector<std::vector<Body>> bodies(senders.size());
  {
    const int batches = (f.events + f.batch - 1) / f.batch;
    for (int b = 0; b < batches; ++b) {
      const int n = std::min(f.batch, f.events - b * f.batch);
      const std::size_t i = static_cast<std::size_t>(b) % senders.size();
      bodies[i].push_back(BatchBody(senders[i], n));
    }
  }
  std::vector<Clock::time_point> last_ack(senders.size());
  std::vector<long long> before(senders.size());
  for (std::size_t i = 0; i < senders.size(); ++i)
    before[i] = senders[i].accepted_events;
  StatusOr<std::vector<MetricSample>> indexer_t0 = indexer_metrics.Fetch();
  if (!indexer_t0.ok()) return setup_failed(indexer_t0.status());
  const CpuSample cpu0 = CpuSample::Take(f);
  const Clock::time_point t0 = RunSenders(senders, [&](std::size_t i) {
    for (const Body& body : bodies[i])
      Post(senders[i], body, f, &last_ack[i]);
  });
  const Clock::time_point acked_all = *std::max_element(last_ack.begin(), last_ack.end());
  long long tp_accepted = 0;
  for (std::size_t i = 0; i < senders.size(); ++i)
    tp_accepted += senders[i].accepted_events - before[i];
  expected += tp_accepted;
  long long last_count = 0;
  int count_queries = 0;
  StatusOr<Clock::time_point> queryable =
      f.end_by == "count"
          ? WaitCount(*admin, tenant->id, expected, f, f.drain_timeout_s, &last_count,
                      &count_queries)
          : WaitWritten(indexer_metrics, MetricSum(*indexer_t0, kWritten, {{"outcome", "written"}}),
                        tp_accepted, *admin, tenant->id, expected, f, f.drain_timeout_s,
                        &last_count, &count_queries);
  const CpuSample cpu_tp = CpuSample::Take(f) - cpu0;
  bodies.clear();
  if (!queryable.ok()) {
    std::fprintf(stderr, "ingest_bench: throughput: %s\n", queryable.status().ToString().c_str());
    rc = 1;
  }
  const double tp_seconds = queryable.ok() ? Seconds(*queryable - t0) : NAN;
  const double tp_rate = static_cast<double>(tp_accepted) / tp_seconds;
  const double accept_rate = static_cast<double>(tp_accepted) / Seconds(acked_all - t0);
  std::fprintf(stderr,
               "ingest_bench: throughput: %lld events accepted in %.2f s, queryable after %.2f s "
               "(%.0f events/s)\n",
               tp_accepted, Seconds(acked_all - t0), tp_seconds, tp_rate);
  StatusOr<std::vector<MetricSample>> indexer_m1 = indexer_metrics.Fetch();

  // --- 4. latency at a fraction of the throughput ---
  Samples samples;
  int sample_queries = 0;
  double sample_query_ms = 0;
  double target_rate = NAN, achieved_rate = NAN;
  long long lat_events = 0;
  long late_sends = 0;
  CpuSample cpu_lat{};
  double lat_seconds = 0;
  Status poll_status = OkStatus();
  if (queryable.ok() && f.latency_seconds > 0) {
    target_rate = tp_rate * f.latency_load_pct / 100.0;
    // Each sender sends one batch every `interval`, the senders evenly
    // staggered; a sender that falls behind sends at once (counted as late).
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
        static_cast<double>(f.batch) * static_cast<double>(senders.size()) / target_rate));
    const long batches_each =
        std::max<long>(1, static_cast<long>(std::ceil(f.latency_seconds / Seconds(interval))));
    for (std::size_t i = 0; i < senders.size(); ++i)
      before[i] = senders[i].accepted_events;
    std::mutex late_mu;
    std::thread poller([&] {
      // A connection of its own: the admin one counts afterwards.
      try {
        pqxx::connection conn(admin_dsn);
        poll_status = PollSamples(conn, tenant->id, samples, f, &sample_queries, &sample_query_ms);
      } catch (...) {
        poll_status = pg::StatusFromCurrentException("sample poller");
      }
    });
    const CpuSample lat_cpu0 = CpuSample::Take(f);
    const Clock::time_point l0 = RunSenders(senders, [&](std::size_t i) {
      Sender& s = senders[i];
      const Clock::time_point first =
          Clock::now() + interval * static_cast<long>(i) / static_cast<long>(senders.size());
      long late = 0;
      for (long k = 0; k < batches_each; ++k) {
        std::vector<SampledId> ids;
        const Body body = BatchBody(s, f.batch, &ids, f.samples_per_batch);
        const Clock::time_point due = first + interval * k;
        if (Clock::now() > due + std::chrono::milliseconds(10)) {
          ++late;
        } else {
          std::this_thread::sleep_until(due);
        }
        const Clock::time_point sent = Clock::now();
        Clock::time_point acked;
        if (!Post(s, body, f, &acked)) continue;
        std::lock_guard<std::mutex> lock(samples.mu);
        for (SampledId& id : ids) {
          samples.pending.push_back(samples.all.size());
          samples.all.push_back({std::move(id), sent, acked, std::nullopt});
        }
      }
      std::lock_guard<std::mutex> lock(late_mu);
      late_sends += late;
    });
    const Clock::time_point l1 = Clock::now();
    {
      std::lock_guard<std::mutex> lock(samples.mu);
      samples.senders_done = true;
    }
    poller.join();
    lat_seconds = Seconds(l1 - l0);
    cpu_lat = CpuSample::Take(f) - lat_cpu0;
    for (std::size_t i = 0; i < senders.size(); ++i)
      lat_events += senders[i].accepted_events - before[i];
    expected += lat_events;
    achieved_rate = static_cast<double>(lat_events) / lat_seconds;
    if (!poll_status.ok()) {
      std::fprintf(stderr, "ingest_bench: latency: %s\n", poll_status.ToString().c_str());
      rc = 1;
    }
  }

  // --- checks: every accepted event exactly once, what the services counted ---
  long long distinct = 0, rows_e2e = 0;
  {
    long long last = 0;
    int queries = 0;
    (void)WaitCount(*admin, tenant->id, expected, f, 30, &last, &queries);
    StatusOr<long long> n = CountRows(*admin, tenant->id, &distinct);
    if (!n.ok()) {
      std::fprintf(stderr, "ingest_bench: final count: %s\n", n.status().ToString().c_str());
      rc = 1;
    } else {
      rows_e2e = *n;
    }
  }
  StatusOr<std::vector<MetricSample>> ingest_m2 = FetchMetrics(ingest_metrics);
  StatusOr<std::vector<MetricSample>> indexer_m2 = indexer_metrics.Fetch();

  // --- report ---
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::printf("\nevent ingestion benchmark (%s, nproc=%u)\n", date,
              std::thread::hardware_concurrency());
  std::printf(
      "  load:      %d events in batches of %d (%zu bytes of protobuf each, uncompressed) from\n"
      "             %d senders, each with one TLS keep-alive connection and one batch in flight,\n"
      "             taking turns over %d agents each (%d agents: Kafka keys); after a warm-up\n"
      "             of %d events (at least one batch per agent), waited for until queryable\n",
      f.events, f.batch, senders.empty() ? 0 : BatchBody(senders[0], f.batch).bytes.size(),
      f.senders, f.agents_per_sender, f.senders * f.agents_per_sender, f.warmup_events);
  std::printf(
      "  baselines: the same number of equivalent rows (ToRow of the same kind of events), %d\n"
      "             per transaction, into the same events table: raw COPY (superuser, no RLS),\n"
      "             then the indexer's PgEventWriter (its role portcullis_indexer)\n"
      "  pipeline:  one ingest, Kafka (%d partitions), %zu indexer(s) in one consumer group\n\n",
      f.copy_batch, f.partitions, f.indexer_ports.size());
  std::printf("%-34s %9s %9s %11s %7s\n", "throughput", "events", "seconds", "events/s", "ratio");
  std::printf("%-34s %9lld %9.2f %11.0f %7.3f\n", "raw COPY into events (baseline)", raw->rows,
              raw->seconds, raw->rate(), 1.0);
  std::printf("%-34s %9lld %9.2f %11.0f %7.3f\n", "PgEventWriter (indexer's write)", written->rows,
              written->seconds, written->rate(), written->rate() / raw->rate());
  std::printf("%-34s %9lld %9.2f %11.0f %7.3f\n", "end-to-end: all 202s (ingest)", tp_accepted,
              Seconds(acked_all - t0), accept_rate, accept_rate / raw->rate());
  std::printf("%-34s %9lld %9.2f %11.0f %7.3f\n", "end-to-end: all queryable", tp_accepted,
              tp_seconds, tp_rate, tp_rate / raw->rate());
  if (f.end_by == "count") {
    std::printf("  (end: count(*) polled every %d ms after the last 202: %d queries)\n", f.poll_ms,
                count_queries);
  } else {
    std::printf(
        "  (end: the indexer's written counter polled every %d ms after the last 202, %d polls,\n"
        "  then count(*) = %lld confirmed it)\n",
        f.poll_ms, count_queries, last_count);
  }

  const double kevents = static_cast<double>(tp_accepted) / 1000.0;
  std::printf(
      "\nCPU ms per 1,000 events (rows) of each run, and cores busy: ingest, indexer(s),\n"
      "PostgreSQL (postmaster, backends, exited autovacuum workers), Kafka (broker JVM), the\n"
      "load generator (this process; in the baselines the COPY client), other (interrupts,\n"
      "other programs, kernel threads) and the machine (of %u); 10 ms ticks except the load\n"
      "generator's. The end-to-end run is from the first send until all are queryable\n\n",
      std::thread::hardware_concurrency());
  std::printf("%-34s %7s %8s %8s %8s %8s %8s %8s\n", "run", "ingest", "indexer", "postgres",
              "kafka", "loadgen", "other", "machine");
  PrintCpuRow("raw COPY baseline", raw_cpu, raw->seconds, static_cast<double>(raw->rows) / 1000.0);
  PrintCpuRow("PgEventWriter baseline", writer_cpu, written->seconds,
              static_cast<double>(written->rows) / 1000.0);
  PrintCpuRow("end-to-end", cpu_tp, tp_seconds, kevents);
  if (indexer_m1.ok()) {
    const double batches =
        MetricSum(*indexer_m1, "portcullis_indexer_batch_duration_seconds_count") -
        MetricSum(*indexer_t0, "portcullis_indexer_batch_duration_seconds_count");
    const double secs = MetricSum(*indexer_m1, "portcullis_indexer_batch_duration_seconds_sum") -
                        MetricSum(*indexer_t0, "portcullis_indexer_batch_duration_seconds_sum");
    const double rows = MetricSum(*indexer_m1, kWritten, {{"outcome", "written"}}) -
                        MetricSum(*indexer_t0, kWritten, {{"outcome", "written"}});
    std::printf(
        "indexer during the run: %.0f batches, %.0f rows/batch, %.1f ms/batch (decode, write,\n"
        "offset commit), %.0f rows/s while in a batch\n",
        batches, rows / batches, secs / batches * 1e3, rows / secs);
  }

  if (f.latency_seconds > 0 && queryable.ok()) {
    std::vector<double> from_ack, from_send;
    std::size_t missing = 0;
    for (const Sample& s : samples.all) {
      if (!s.found) {
        ++missing;
        continue;
      }
      from_ack.push_back(Ms(*s.found - s.acked));
      from_send.push_back(Ms(*s.found - s.sent));
    }
    std::sort(from_ack.begin(), from_ack.end());
    std::sort(from_send.begin(), from_send.end());
    std::printf(
        "\nlatency at %d%% of the end-to-end throughput: target %.0f events/s, achieved %.0f\n"
        "(%lld events in %.1f s, %ld late sends); %zu sampled events (%d per batch), looked up\n"
        "by primary key (tenant, event id, ts), all pending ones in one SELECT every %d ms (%d\n"
        "queries, %.1f ms each on average); ms from the 202 (or the send) to the start of the\n"
        "query that found the event (its snapshot)\n\n",
        f.latency_load_pct, target_rate, achieved_rate, lat_events, lat_seconds, late_sends,
        samples.all.size(), f.samples_per_batch, f.poll_ms, sample_queries,
        sample_queries > 0 ? sample_query_ms / sample_queries : 0.0);
    std::printf("%-20s %8s %8s %8s %8s %8s %8s %8s\n", "latency", "found", "min", "p50", "p90",
                "p99", "max", "missing");
    std::printf("%-20s %8zu %8.1f %8.1f %8.1f %8.1f %8.1f %8zu\n", "from 202", from_ack.size(),
                from_ack.empty() ? NAN : from_ack.front(), Percentile(from_ack, 50),
                Percentile(from_ack, 90), Percentile(from_ack, 99),
                from_ack.empty() ? NAN : from_ack.back(), missing);
    std::printf("%-20s %8zu %8.1f %8.1f %8.1f %8.1f %8.1f %8zu\n", "from send", from_send.size(),
                from_send.empty() ? NAN : from_send.front(), Percentile(from_send, 50),
                Percentile(from_send, 90), Percentile(from_send, 99),
                from_send.empty() ? NAN : from_send.back(), missing);
    std::printf("\n%-34s %7s %8s %8s %8s %8s %8s %8s\n", "run", "ingest", "indexer", "postgres",
                "kafka", "loadgen", "other", "machine");
    PrintCpuRow("latency phase", cpu_lat, lat_seconds, static_cast<double>(lat_events) / 1000.0);
    if (missing > 0) rc = 1;
    const double p99 = Percentile(from_ack, 99);
    std::printf("\nrequirement: latency p99 < 2000 ms at half load: %s (p99 %.1f ms)\n",
                missing == 0 && p99 < 2000 ? "met" : "NOT MET", p99);
  }

  // Checks.
  std::printf("\nchecks\n");
  long non202 = 0, gave_up = 0;
  std::map<int, long> codes;
  for (const Sender& s : senders) {
    for (const auto& [code, n] : s.non202) {
      codes[code] += n;
      non202 += n;
    }
    gave_up += s.gave_up;
  }
  std::printf("  e2e tenant rows: %lld, distinct event ids %lld, events accepted (202) %lld: %s\n",
              rows_e2e, distinct, expected,
              rows_e2e == expected && distinct == expected ? "OK" : "MISMATCH");
  if (rows_e2e != expected || distinct != expected) rc = 1;
  std::printf("  answers other than 202: %ld", non202);
  for (const auto& [code, n] : codes)
    std::printf(" [%s: %ld]", code == 0 ? "transport" : std::to_string(code).c_str(), n);
  std::printf(", batches given up: %ld\n", gave_up);
  if (non202 > 0) {
    for (const Sender& s : senders) {
      if (!s.first_error.empty()) {
        std::printf("  first error: %s\n", s.first_error.c_str());
        break;
      }
    }
    rc = 1;
  }
  if (ingest_m2.ok()) {
    std::printf("  ingest events_total:");
    for (const char* o : {"accepted", "rejected", "unavailable", "limited"}) {
      std::printf(" %s %.0f", o,
                  MetricSum(*ingest_m2, "portcullis_ingest_events_total", {{"outcome", o}}) -
                      MetricSum(*ingest_m0, "portcullis_ingest_events_total", {{"outcome", o}}));
    }
    std::printf("\n");
  }
  if (indexer_m2.ok()) {
    std::printf("  indexer events_total:");
    for (const char* o : {"written", "duplicate", "dead_letter"}) {
      std::printf(" %s %.0f", o,
                  MetricSum(*indexer_m2, "portcullis_indexer_events_total", {{"outcome", o}}) -
                      MetricSum(*indexer_m0, "portcullis_indexer_events_total", {{"outcome", o}}));
    }
    std::printf(", batch retries %.0f\n",
                MetricSum(*indexer_m2, "portcullis_indexer_batch_retries_total") -
                    MetricSum(*indexer_m0, "portcullis_indexer_batch_retries_total"));
  }

  const double ratio = tp_rate / raw->rate();
  std::printf("\nratio end-to-end / raw COPY: %.3f (%.0f / %.0f events/s); target >= 0.7: %s\n",
              ratio, tp_rate, raw->rate(), ratio >= 0.7 ? "met" : "NOT MET");
  std::printf("ratio end-to-end / PgEventWriter: %.3f (%.0f / %.0f events/s)\n",
              tp_rate / written->rate(), tp_rate, written->rate());
  // The baseline and the pipeline share the machine with whatever else runs:
  // a busy neighbour in one window and not the other skews the ratio.
  const std::pair<const char*, double> others[] = {
      {"raw COPY", raw_cpu.rest_ms() / raw->seconds / 1e3},
      {"PgEventWriter", writer_cpu.rest_ms() / written->seconds / 1e3},
      {"end-to-end", cpu_tp.rest_ms() / tp_seconds / 1e3},
      {"latency", lat_seconds > 0 ? cpu_lat.rest_ms() / lat_seconds / 1e3 : 0.0}};
  for (const auto& [run, cores] : others) {
    if (cores > 0.25) {
      std::printf(
          "WARNING: %.2f cores were busy with other programs during the %s run: the machine\n"
          "was not idle, these figures and ratios are not reliable.\n",
          cores, run);
    }
  }
  std::fflush(stdout);
  return rc;
}
