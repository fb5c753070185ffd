-- ast: (in network.remote.ip [10.0.0.1, 10.0.0.2, 172.16.0.0/12])
SELECT ts AS "event.time", event_id AS "event.id", action AS "event.action", category AS "event.category", syscall AS "event.syscall", result AS "event.result", enforced AS "event.enforced", process_name AS "process.name", executable AS "process.path", pid AS "process.pid", ppid AS "process.ppid", uid AS "process.uid", gid AS "process.gid", cmdline AS "process.cmdline", file_path AS "file.path", file_operation AS "file.operation", net_direction AS "network.direction", net_protocol AS "network.protocol", remote_ip AS "network.remote.ip", remote_port AS "network.remote.port", local_ip AS "network.local.ip", local_port AS "network.local.port", container_id AS "container.id", image AS "container.image", agent_id AS "agent.id", hostname AS "host.name", policy_id AS "policy.id", policy_version AS "policy.version", rule_id AS "rule.id", labels AS "labels"
FROM events
WHERE tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz
  AND (remote_ip IN ($4::inet, $5::inet) OR (remote_ip >= $6::inet AND remote_ip <= $7::inet AND remote_ip <<= $8::inet))
ORDER BY ts DESC, event_id DESC
LIMIT $9::integer
-- $1 = 00000000-0000-4000-8000-0000000000aa
-- $2 = 2026-11-27T12:00:00Z
-- $3 = 2026-11-28T12:00:00Z
-- $4 = 10.0.0.1
-- $5 = 10.0.0.2
-- $6 = 172.16.0.0/12
-- $7 = 172.31.255.255
-- $8 = 172.16.0.0/12
-- $9 = 100
-- columns: event.time timestamptz, event.id uuid, event.action text, event.category text, event.syscall text, event.result integer, event.enforced boolean, process.name text, process.path text, process.pid integer, process.ppid integer, process.uid bigint, process.gid bigint, process.cmdline text, file.path text, file.operation text, network.direction text, network.protocol text, network.remote.ip inet, network.remote.port integer, network.local.ip inet, network.local.port integer, container.id text, container.image text, agent.id uuid, host.name text, policy.id uuid, policy.version bigint, rule.id text, labels jsonb
-- aggregate: false
