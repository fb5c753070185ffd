// Policy distribution benchmark: how long a newly published policy version
// takes to reach agents that long-poll for it (GET /v1/agents/{id}/policy
// ?wait=N with If-None-Match), for 1,000 agents, beside a baseline (the same
// delivery to a few agents, in another tenant of the same service) in the same
// run, reported as the ratio of the p99s.
//
//   build/bin/policy_longpoll_bench --registry-port=8443 --policy-port=8444
//       --ca=ca.crt --operator-token-file=operator.token [--agents=1000]
//
// Normally run by tests/bench/policy_longpoll_bench.sh, which starts the
// services (see tests/bench/README.md). Each simulated agent is a thread with
// one TLS keep-alive connection that loops like the real agent: long-poll,
// take the new table, long-poll again with its ETag. A delivery is timed from
// the moment the admin's PUT /v1/policies/{id} returns 200 to the moment the
// agent's thread holds the whole 200 response carrying the new version.
//
// Prints its figures to stdout (progress to stderr); asserts nothing about
// timing. Exit status: 0 when every agent got every version, 1 when one did
// not (or an agent got an unexpected answer), 2 when the setup failed.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <semaphore>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/http/client.h"

namespace {

using namespace portcullis;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Flags {
  std::uint16_t registry_port = 0;
  std::uint16_t policy_port = 0;
  std::string ca;
  std::string operator_token_file;
  int agents = 1000;
  int baseline_agents = 10;
  int rounds = 3;
  int warmup_rounds = 1;
  int wait_s = 25;             // the agents' ?wait=
  int rules = 50;              // file rules in the published policy
  int settle_ms = 1000;        // pause between "all parked" and the publish
  int deliver_timeout_s = 10;  // an agent without the version by then missed it
  int register_connections = 4;
  int connect_concurrency = 32;  // agents doing their first fetch (TLS handshake) at once
  int policy_pid = 0;            // the policy service, for its CPU time (0: not measured)
  int pg_pid = 0;                // PostgreSQL's postmaster, likewise
  // A pause between an agent's 200 and its next long-poll. 0 is what an agent
  // does; more keeps the re-polls out of the delivery (a diagnostic).
  int repoll_delay_ms = 0;
  std::string run_id;
};

const char kUsage[] =
    "usage: policy_longpoll_bench --registry-port=N --policy-port=N --ca=FILE\n"
    "         --operator-token-file=FILE [--agents=1000] [--baseline-agents=10]\n"
    "         [--rounds=3] [--warmup-rounds=1] [--wait=25] [--rules=50] [--settle-ms=1000]\n"
    "         [--deliver-timeout=10] [--register-connections=4] [--connect-concurrency=32]\n"
    "         [--repoll-delay-ms=0] [--policy-pid=PID] [--pg-pid=PID] [--run-id=ID]\n";

// Parses --name=value flags; nullopt (after a message) on anything else.
std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  std::map<std::string, int*> ints = {{"agents", &f.agents},
                                      {"baseline-agents", &f.baseline_agents},
                                      {"rounds", &f.rounds},
                                      {"warmup-rounds", &f.warmup_rounds},
                                      {"wait", &f.wait_s},
                                      {"rules", &f.rules},
                                      {"settle-ms", &f.settle_ms},
                                      {"deliver-timeout", &f.deliver_timeout_s},
                                      {"register-connections", &f.register_connections},
                                      {"connect-concurrency", &f.connect_concurrency},
                                      {"policy-pid", &f.policy_pid},
                                      {"pg-pid", &f.pg_pid},
                                      {"repoll-delay-ms", &f.repoll_delay_ms}};
  int registry_port = 0, policy_port = 0;
  ints["registry-port"] = &registry_port;
  ints["policy-port"] = &policy_port;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "policy_longpoll_bench: bad argument '%s'\n%s", a.c_str(), kUsage);
      return std::nullopt;
    }
    std::string name = a.substr(2, eq - 2), value = a.substr(eq + 1);
    if (name == "ca") {
      f.ca = value;
    } else if (name == "operator-token-file") {
      f.operator_token_file = value;
    } else if (name == "run-id") {
      f.run_id = value;
    } else if (auto it = ints.find(name); it != ints.end()) {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < 0 || v > 1000000) {
        std::fprintf(stderr, "policy_longpoll_bench: --%s must be a number in [0, 1000000]\n",
                     name.c_str());
        return std::nullopt;
      }
      *it->second = static_cast<int>(v);
    } else {
      std::fprintf(stderr, "policy_longpoll_bench: unknown flag --%s\n%s", name.c_str(), kUsage);
      return std::nullopt;
    }
  }
  if (registry_port <= 0 || registry_port > 65535 || policy_port <= 0 || policy_port > 65535 ||
      f.ca.empty() || f.operator_token_file.empty() || f.agents < 1 || f.baseline_agents < 1 ||
      f.rounds < 1 || f.wait_s < 1 || f.rules < 1 || f.deliver_timeout_s < 1 ||
      f.register_connections < 1 || f.connect_concurrency < 1) {
    std::fprintf(stderr, "%s", kUsage);
    return std::nullopt;
  }
  f.registry_port = static_cast<std::uint16_t>(registry_port);
  f.policy_port = static_cast<std::uint16_t>(policy_port);
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

double TickMs() {
  return 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The fields of /proc/PID/stat after the command name: [0] is the state,
// [1] the parent, [11] and [12] utime and stime (clock ticks). Empty when
// the process is gone.
std::vector<std::string> ProcStat(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t paren = stat.rfind(')');
  std::vector<std::string> fields;
  if (paren == std::string::npos) return fields;
  std::istringstream rest(stat.substr(paren + 1));
  for (std::string field; fields.size() < 13 && rest >> field;)
    fields.push_back(field);
  if (fields.size() < 13) fields.clear();
  return fields;
}

double ProcCpuMs(const std::vector<std::string>& stat) {
  if (stat.empty()) return 0;
  return (std::strtod(stat[11].c_str(), nullptr) + std::strtod(stat[12].c_str(), nullptr)) *
         TickMs();
}

// CPU time, in ms, used so far by: this process (the agents), the policy
// service, PostgreSQL (the postmaster and its children: the backends) and the
// whole machine (busy time of all CPUs, /proc/stat). The last three come in
// clock ticks (10 ms steps); the service and PostgreSQL are NAN when their
// pid is not known.
struct CpuSample {
  double self_ms = 0;
  double service_ms = NAN;
  double pg_ms = NAN;
  double irq_ms = 0;  // interrupts and softirqs (loopback networking), no process's
  double machine_ms = 0;

  static CpuSample Take(int service_pid, int pg_pid) {
    CpuSample c;
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    c.self_ms = static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
    if (service_pid > 0) c.service_ms = ProcCpuMs(ProcStat(std::to_string(service_pid)));
    if (pg_pid > 0) {
      const std::string parent = std::to_string(pg_pid);
      c.pg_ms = ProcCpuMs(ProcStat(parent));
      for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::vector<std::string> stat = ProcStat(name);
        if (!stat.empty() && stat[1] == parent) c.pg_ms += ProcCpuMs(stat);
      }
    }
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
    return {self_ms - o.self_ms, service_ms - o.service_ms, pg_ms - o.pg_ms, irq_ms - o.irq_ms,
            machine_ms - o.machine_ms};
  }
  CpuSample& operator+=(const CpuSample& o) {
    self_ms += o.self_ms;
    service_ms += o.service_ms;
    pg_ms += o.pg_ms;
    irq_ms += o.irq_ms;
    machine_ms += o.machine_ms;
    return *this;
  }
  // What neither the agents, the service, PostgreSQL nor interrupts used:
  // other programs, the kernel's own threads.
  double rest_ms() const { return machine_ms - self_ms - service_ms - pg_ms - irq_ms; }
};

// JSON over one keep-alive HTTPS connection, for the setup and the publishes.
class JsonApi {
 public:
  JsonApi(std::uint16_t port, const std::string& ca)
      : client_({.port = port, .ca_file = ca, .timeout = std::chrono::seconds(30)}) {}

  // The decoded body when the answer has status `want`, an error otherwise.
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

// The string at `pointer` (e.g. "/admin_key/secret") in an answer.
StatusOr<std::string> Field(const json& j, const char* pointer) {
  const json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_string()) {
    return InternalError(std::string("the answer has no string at ") + pointer);
  }
  return j.at(p).get<std::string>();
}

// The published document for version `n`: `rules` file rules, one of which
// names the version, so that every version compiles to a different table.
json Document(std::int64_t n, int rules) {
  json list = json::array();
  list.push_back({{"id", "shadow"},
                  {"type", "file"},
                  {"action", "deny"},
                  {"paths", {"/etc/shadow", "/bench/version-" + std::to_string(n)}}});
  for (int i = 1; i < rules; ++i) {
    list.push_back({{"id", "r" + std::to_string(i)},
                    {"type", "file"},
                    {"action", i % 2 ? "deny" : "monitor"},
                    {"paths",
                     {"/opt/app" + std::to_string(i) + "/config.yaml",
                      "/var/lib/pkg" + std::to_string(i) + "/"}}});
  }
  return {{"name", "bench-longpoll"}, {"rules", list}};
}

struct Agent {
  std::string id;
  std::string credential;
};

// One tenant with its policy and agents, and what the agents' threads saw.
// The setup fields are written before the agents start; the rest is guarded
// by mu.
struct Group {
  std::string label;
  std::string admin;  // admin key of the tenant
  std::string policy_id;
  std::vector<Agent> agents;
  std::int64_t max_version = 0;  // versions 1..max_version are published

  std::mutex mu;
  std::condition_variable cv;
  std::int64_t published = 1;  // the current version (set by the main thread)
  // arrival[agent][version]: when the agent's thread held that version.
  std::vector<std::vector<std::optional<Clock::time_point>>> arrival;
  std::vector<int> received;          // [version]: agents that hold it
  std::vector<std::int64_t> polling;  // [agent]: version it long-polls with (0: not polling)
  std::size_t table_bytes = 0;        // size of the last rule table received
  long errors = 0;
  std::string first_error;

  void Init() {
    arrival.assign(agents.size(), std::vector<std::optional<Clock::time_point>>(
                                      static_cast<std::size_t>(max_version) + 1));
    received.assign(static_cast<std::size_t>(max_version) + 1, 0);
    polling.assign(agents.size(), 0);
  }
  void Polling(std::size_t i, std::int64_t version) {
    std::lock_guard<std::mutex> lock(mu);
    polling[i] = version;
  }
  void Received(std::size_t i, std::int64_t version, Clock::time_point at, std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu);
      polling[i] = 0;
      table_bytes = bytes;
      if (version < 1 || version > max_version) {
        ++errors;
        if (first_error.empty()) first_error = "unexpected version " + std::to_string(version);
      } else if (!arrival[i][static_cast<std::size_t>(version)]) {
        arrival[i][static_cast<std::size_t>(version)] = at;
        ++received[static_cast<std::size_t>(version)];
      }
    }
    cv.notify_all();
  }
  void Error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    ++errors;
    if (first_error.empty()) first_error = what;
  }
  // Every agent long-polls with the current version.
  bool AllPolling() {
    std::lock_guard<std::mutex> lock(mu);
    return std::all_of(polling.begin(), polling.end(),
                       [this](std::int64_t v) { return v == published; });
  }
};

// What one simulated agent does, forever: fetch its table, then long-poll
// with the ETag it holds; on 200 take the new table and poll again, on 304
// poll again. Runs until the process exits.
void RunAgent(Group& g, std::size_t i, const Flags& f, std::counting_semaphore<>& connect_slots) {
  const Agent& agent = g.agents[i];
  http::Client client(
      {.port = f.policy_port, .ca_file = f.ca, .timeout = std::chrono::seconds(f.wait_s + 15)});
  const std::string path = "/v1/agents/" + agent.id + "/policy";
  const std::string poll_path = path + "?wait=" + std::to_string(f.wait_s);
  std::string etag;
  std::int64_t have = 0;
  // The first fetch opens the connection: a few agents at a time, so that
  // 1,000 TLS handshakes do not overflow the listen backlog.
  connect_slots.acquire();
  for (bool first = true;; first = false) {
    Headers headers = {{"Authorization", "Bearer " + agent.credential}};
    if (!first) {
      headers.emplace_back("If-None-Match", etag);
      g.Polling(i, have);
    }
    StatusOr<http::ClientResponse> r = client.Send("GET", first ? path : poll_path, "", headers);
    const Clock::time_point now = Clock::now();
    if (first) connect_slots.release();
    if (!r.ok()) {
      g.Error("GET " + path + ": " + r.status().ToString());
      g.Polling(i, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (r->status == 304) continue;
    const std::string* e = r->Header("etag");
    const std::string* v = r->Header("x-portcullis-policy-version");
    if (r->status != 200 || e == nullptr || v == nullptr) {
      g.Error("GET " + path + ": HTTP " + std::to_string(r->status) +
              (r->status == 200 ? " without ETag or X-Portcullis-Policy-Version"
                                : ": " + r->body.substr(0, 200)));
      g.Polling(i, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    have = std::strtoll(v->c_str(), nullptr, 10);
    etag = *e;
    g.Received(i, have, now, r->body.size());
    if (f.repoll_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(f.repoll_delay_ms));
    }
  }
}

// Creates the tenant, its enrollment token, the policy (version 1) assigned
// to every agent of the tenant, and registers n agents.
Status SetUp(Group& g, int n, const Flags& f, const std::string& operator_token) {
  JsonApi registry(f.registry_port, f.ca);
  JsonApi policy(f.policy_port, f.ca);
  const std::string name = "bench-lp-" + f.run_id + "-" + g.label;
  PORTCULLIS_ASSIGN_OR_RETURN(
      json tenant, registry.Call("POST", "/v1/tenants", operator_token, {{"name", name}}, 201));
  PORTCULLIS_ASSIGN_OR_RETURN(g.admin, Field(tenant, "/admin_key/secret"));
  PORTCULLIS_ASSIGN_OR_RETURN(const std::string tenant_id, Field(tenant, "/tenant/id"));
  PORTCULLIS_ASSIGN_OR_RETURN(
      json token, registry.Call("POST", "/v1/enrollment-tokens", g.admin, {{"name", name}}, 201));
  PORTCULLIS_ASSIGN_OR_RETURN(const std::string enrollment, Field(token, "/secret"));
  PORTCULLIS_ASSIGN_OR_RETURN(json created, policy.Call("POST", "/v1/policies", g.admin,
                                                        {{"document", Document(1, f.rules)}}, 201));
  PORTCULLIS_ASSIGN_OR_RETURN(g.policy_id, Field(created, "/id"));
  if (created["current_version"] != 1) return InternalError("a new policy is not at version 1");
  PORTCULLIS_ASSIGN_OR_RETURN(
      json assignment, policy.Call("POST", "/v1/policies/" + g.policy_id + "/assignments", g.admin,
                                   {{"selector", {{"default", true}}}}, 201));
  (void)assignment;

  g.agents.assign(static_cast<std::size_t>(n), Agent{});
  std::mutex mu;
  Status failed = OkStatus();
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (int k = 0; k < f.register_connections; ++k) {
    workers.emplace_back([&, k] {
      JsonApi api(f.registry_port, f.ca);
      for (int i = k; i < n; i += f.register_connections) {
        StatusOr<json> r = api.Call("POST", "/v1/agents/register", enrollment,
                                    {{"container_id", name + "-" + std::to_string(i)},
                                     {"image_name", "registry.example/bench/app"},
                                     {"hostname", "bench-host-" + std::to_string(i % 50)},
                                     {"labels", {{"bench", "longpoll"}}},
                                     {"agent_version", "bench"},
                                     {"kernel_version", "6.1.0"}},
                                    201);
        StatusOr<std::string> id = r.ok() ? Field(*r, "/agent_id") : r.status();
        StatusOr<std::string> credential = r.ok() ? Field(*r, "/credential") : r.status();
        std::lock_guard<std::mutex> lock(mu);
        if (!id.ok() || !credential.ok()) {
          if (failed.ok()) failed = id.ok() ? credential.status() : id.status();
          return;
        }
        g.agents[static_cast<std::size_t>(i)] = {*id, *credential};
      }
    });
  }
  for (std::thread& w : workers)
    w.join();
  PORTCULLIS_RETURN_IF_ERROR(failed);
  std::fprintf(stderr, "policy_longpoll_bench: %s: tenant %s, %d agents registered in %.1f s\n",
               g.label.c_str(), tenant_id.c_str(), n, Ms(Clock::now() - start) / 1000.0);
  return OkStatus();
}

// The policy service's portcullis_http_requests_in_flight (parked long-polls
// count as in flight, and so does the /metrics request that reads it).
StatusOr<double> InFlight(http::Client& metrics) {
  StatusOr<http::ClientResponse> r = metrics.Send("GET", "/metrics");
  if (!r.ok()) return r.status().WithContext("GET /metrics");
  if (r->status != 200) return UnavailableError("GET /metrics: HTTP " + std::to_string(r->status));
  std::istringstream lines(r->body);
  std::string line;
  const std::string name = "portcullis_http_requests_in_flight ";
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) == 0) return std::strtod(line.c_str() + name.size(), nullptr);
  }
  return NotFoundError("no portcullis_http_requests_in_flight in /metrics");
}

// Waits until every agent of every group long-polls with its group's current
// version and the service counts that many requests in flight, then settles.
Status WaitParked(std::vector<Group*>& groups, http::Client& metrics, const Flags& f) {
  std::size_t total = 0;
  for (Group* g : groups)
    total += g->agents.size();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  double in_flight = 0;
  for (;;) {
    bool polling =
        std::all_of(groups.begin(), groups.end(), [](Group* g) { return g->AllPolling(); });
    if (polling) {
      PORTCULLIS_ASSIGN_OR_RETURN(in_flight, InFlight(metrics));
      if (in_flight >= static_cast<double>(total + 1)) break;
    }
    if (Clock::now() > deadline) {
      return DeadlineExceededError(
          "agents not parked after 60 s (all polling: " + std::string(polling ? "yes" : "no") +
          ", in flight " + std::to_string(in_flight) + " of " + std::to_string(total + 1) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(f.settle_ms));
  return OkStatus();
}

struct RoundResult {
  double put_ms = 0;
  std::vector<double> from_ack;   // ms from the PUT's 200 to each agent's 200
  std::vector<double> from_send;  // ms from sending the PUT to each agent's 200
  int missing = 0;
  // From sending the PUT until the last agent held the version (or the
  // deadline): wall time and CPU time of the service, the agents, the machine.
  double window_ms = 0;
  CpuSample cpu;
};

// Publishes the group's next version and waits for its agents to hold it.
StatusOr<RoundResult> Publish(Group& g, JsonApi& policy, const Flags& f) {
  std::int64_t next;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    next = g.published + 1;
  }
  if (next > g.max_version) Fatal("policy_longpoll_bench: more rounds than versions");
  const json body = {{"document", Document(next, f.rules)}};
  const CpuSample cpu_before = CpuSample::Take(f.policy_pid, f.pg_pid);
  const Clock::time_point sent = Clock::now();
  StatusOr<json> r = policy.Call("PUT", "/v1/policies/" + g.policy_id, g.admin, body, 200);
  const Clock::time_point acked = Clock::now();
  if (!r.ok()) return r.status();
  if ((*r)["current_version"] != next) {
    return InternalError("PUT answered version " + (*r)["current_version"].dump() + ", wanted " +
                         std::to_string(next));
  }
  RoundResult out;
  out.put_ms = Ms(acked - sent);
  const std::size_t v = static_cast<std::size_t>(next);
  std::unique_lock<std::mutex> lock(g.mu);
  g.published = next;
  g.cv.wait_until(lock, acked + std::chrono::seconds(f.deliver_timeout_s),
                  [&] { return g.received[v] == static_cast<int>(g.agents.size()); });
  out.window_ms = Ms(Clock::now() - sent);
  out.cpu = CpuSample::Take(f.policy_pid, f.pg_pid) - cpu_before;
  for (const auto& a : g.arrival) {
    if (!a[v]) {
      ++out.missing;
      continue;
    }
    out.from_ack.push_back(Ms(*a[v] - acked));
    out.from_send.push_back(Ms(*a[v] - sent));
  }
  return out;
}

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  std::size_t rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct Row {
  std::string label;
  std::size_t agents = 0;
  int rounds = 0;
  std::vector<double> put_ms;
  std::vector<double> from_ack;
  std::vector<double> from_send;
  int missing = 0;
  double window_ms = 0;
  CpuSample cpu{0, 0, 0, 0, 0};  // sums (NAN parts when not measured)

  void Add(const RoundResult& r) {
    ++rounds;
    window_ms += r.window_ms;
    cpu += r.cpu;
    put_ms.push_back(r.put_ms);
    from_ack.insert(from_ack.end(), r.from_ack.begin(), r.from_ack.end());
    from_send.insert(from_send.end(), r.from_send.begin(), r.from_send.end());
    missing += r.missing;
  }
  double P99() const {
    std::vector<double> s = from_ack;
    std::sort(s.begin(), s.end());
    return Percentile(s, 99);
  }
  void Print() const {
    std::vector<double> s = from_ack, t = from_send, p = put_ms;
    std::sort(s.begin(), s.end());
    std::sort(t.begin(), t.end());
    std::sort(p.begin(), p.end());
    const std::size_t want = agents * static_cast<std::size_t>(rounds);
    std::printf(
        "%-26s %6zu %11s %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %9.1f\n", label.c_str(), agents,
        (std::to_string(want - static_cast<std::size_t>(missing)) + "/" + std::to_string(want))
            .c_str(),
        Percentile(p, 50), s.empty() ? NAN : s.front(), Percentile(s, 50), Percentile(s, 90),
        Percentile(s, 99), s.empty() ? NAN : s.back(), Percentile(t, 99));
  }
  // Cores busy during the deliveries (CPU time / wall time of the windows).
  void PrintCpu() const {
    auto cores = [this](double ms) { return ms / window_ms; };
    std::printf("%-26s %9.1f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", label.c_str(),
                window_ms / std::max(rounds, 1), cores(cpu.service_ms), cores(cpu.pg_ms),
                cores(cpu.self_ms), cores(cpu.irq_ms), cores(cpu.rest_ms()), cores(cpu.machine_ms));
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::optional<Flags> parsed = ParseFlags(argc, argv);
  if (!parsed) return 2;
  const Flags f = *parsed;
  std::string operator_token;
  {
    std::ifstream in(f.operator_token_file);
    if (!(in >> operator_token)) {
      std::fprintf(stderr, "policy_longpoll_bench: cannot read %s\n",
                   f.operator_token_file.c_str());
      return 2;
    }
  }
  auto setup_failed = [](const Status& s) {
    std::fprintf(stderr, "policy_longpoll_bench: setup failed: %s\n", s.ToString().c_str());
    return 2;
  };

  const std::int64_t max_version = 1 + f.warmup_rounds + f.rounds;
  Group base, main_group;
  base.label = "baseline";
  main_group.label = "fleet";
  std::vector<Group*> groups = {&base, &main_group};
  for (auto [g, n] : {std::pair{&base, f.baseline_agents}, std::pair{&main_group, f.agents}}) {
    if (Status s = SetUp(*g, n, f, operator_token); !s.ok()) return setup_failed(s);
    g->max_version = max_version;
    g->Init();
  }

  // The agents: threads that run until the process exits (see the end).
  std::counting_semaphore<> connect_slots(f.connect_concurrency);
  std::vector<std::thread> agents;
  const auto connect_start = Clock::now();
  for (Group* g : groups) {
    for (std::size_t i = 0; i < g->agents.size(); ++i)
      agents.emplace_back(RunAgent, std::ref(*g), i, std::cref(f), std::ref(connect_slots));
  }
  http::Client metrics({.port = f.policy_port, .ca_file = f.ca});
  if (Status s = WaitParked(groups, metrics, f); !s.ok()) return setup_failed(s);
  std::fprintf(stderr,
               "policy_longpoll_bench: %zu agents connected, fetched version 1 and parked in "
               "%.1f s\n",
               agents.size(), Ms(Clock::now() - connect_start) / 1000.0);

  JsonApi policy(f.policy_port, f.ca);
  Row base_all{"baseline, all rounds", base.agents.size()};
  Row fleet_all{"fleet, all rounds", main_group.agents.size()};
  std::vector<Row> rows;
  int rc = 0;
  bool aborted = false;
  for (int round = -f.warmup_rounds; round < f.rounds && !aborted; ++round) {
    for (Group* g : groups) {
      if (Status s = WaitParked(groups, metrics, f); !s.ok()) {
        std::fprintf(stderr, "policy_longpoll_bench: %s\n", s.ToString().c_str());
        aborted = true;
        break;
      }
      StatusOr<RoundResult> r = Publish(*g, policy, f);
      if (!r.ok()) {
        std::fprintf(stderr, "policy_longpoll_bench: publish: %s\n", r.status().ToString().c_str());
        aborted = true;
        break;
      }
      const char* what = round < 0 ? "warm-up" : "round";
      std::fprintf(stderr, "policy_longpoll_bench: %s %s %d: %zu/%zu agents got it, put %.1f ms\n",
                   g->label.c_str(), what, round < 0 ? round + f.warmup_rounds + 1 : round + 1,
                   r->from_ack.size(), g->agents.size(), r->put_ms);
      if (r->missing > 0) rc = 1;
      if (round < 0) continue;
      Row row{g->label + " round " + std::to_string(round + 1), g->agents.size()};
      row.Add(*r);
      rows.push_back(row);
      (g == &base ? base_all : fleet_all).Add(*r);
    }
  }
  if (aborted) rc = 1;

  // --- report ---
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::printf("\npolicy long-poll delivery benchmark (%s, nproc=%u)\n", date,
              std::thread::hardware_concurrency());
  std::printf(
      "  agents:    %zu (fleet) and %zu (baseline) in two tenants of one policy service, one\n"
      "             thread and one TLS keep-alive connection each, ?wait=%d with If-None-Match,\n"
      "             %s\n",
      main_group.agents.size(), base.agents.size(), f.wait_s,
      f.repoll_delay_ms == 0
          ? "polling again as soon as they have a new version (as an agent does)"
          : ("polling again " + std::to_string(f.repoll_delay_ms) +
             " ms after a new version (DIAGNOSTIC: keeps the re-polls out of the deliveries)")
                .c_str());
  std::printf(
      "  publishes: PUT /v1/policies/{id} of a %d-rule policy (rule table %zu bytes), %d "
      "round(s)\n"
      "             after %d warm-up round(s); each round publishes to the baseline tenant, then\n"
      "             to the fleet's, each once all %zu agents are parked (+%d ms)\n",
      f.rules, main_group.table_bytes, f.rounds, f.warmup_rounds,
      main_group.agents.size() + base.agents.size(), f.settle_ms);
  std::printf(
      "  latency:   ms from the PUT's 200 to the agent's thread holding the 200 with the new\n"
      "             version; min < 0: the agent had it before the admin had the PUT's answer;\n"
      "             'p99 send': from sending the PUT instead; 'put': the PUT's p50 round trip\n\n");
  std::printf("%-26s %6s %11s %7s %7s %7s %7s %7s %7s %9s\n", "run", "agents", "got", "put", "min",
              "p50", "p90", "p99", "max", "p99 send");
  for (const Row& row : rows)
    row.Print();
  if (!rows.empty()) {
    base_all.Print();
    fleet_all.Print();
    std::printf(
        "\ncores busy from sending the PUT until the last agent held the version ('window':\n"
        "ms per round): the policy service, PostgreSQL (postmaster and backends), the agents\n"
        "(this process: their TLS and HTTP), interrupts and softirqs (loopback networking),\n"
        "the rest (other programs, kernel threads) and the machine (of %u). All but the\n"
        "agents' come in 10 ms ticks: too coarse for the baseline's short windows.\n\n",
        std::thread::hardware_concurrency());
    std::printf("%-26s %9s %8s %8s %8s %8s %8s %8s\n", "run", "window", "service", "postgres",
                "agents", "irq", "rest", "machine");
    for (const Row& row : rows)
      row.PrintCpu();
    base_all.PrintCpu();
    fleet_all.PrintCpu();
    const double rest = fleet_all.cpu.rest_ms() / fleet_all.window_ms;
    if (rest > 0.25) {
      std::printf(
          "\nWARNING: %.2f cores were busy with something else than the agents, the service,\n"
          "PostgreSQL and interrupts during the fleet's deliveries: the machine was not idle,\n"
          "these figures are worse than it can do.\n",
          rest);
    }
    const double ratio = fleet_all.P99() / base_all.P99();
    std::printf("\np99 ratio fleet / baseline: %.2f (%.1f ms / %.1f ms)\n", ratio, fleet_all.P99(),
                base_all.P99());
    std::printf(
        "requirement: p99 < 2000 ms for %zu agents: %s (p99 %.1f ms)\n", main_group.agents.size(),
        fleet_all.missing == 0 && fleet_all.P99() < 2000 ? "met" : "NOT MET", fleet_all.P99());
  }
  for (Group* g : groups) {
    std::lock_guard<std::mutex> lock(g->mu);
    if (g->errors > 0) {
      std::printf("%s: %ld unexpected answer(s) to the agents; first: %s\n", g->label.c_str(),
                  g->errors, g->first_error.c_str());
      rc = 1;
    }
  }
  if (base_all.missing + fleet_all.missing > 0) {
    std::printf("FAIL: %d deliveries missing (not received within %d s of the publish)\n",
                base_all.missing + fleet_all.missing, f.deliver_timeout_s);
    rc = 1;
  }
  if (aborted) std::printf("FAIL: the run stopped early (see above)\n");
  // The agents' threads are blocked in long-polls for up to --wait seconds:
  // exit without joining them (their connections close with the process; the
  // service answers their parked requests when it drains).
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}
