-- ast: (= event.category network) | top 10 network.remote.ip
SELECT remote_ip AS "network.remote.ip", count(*) AS "count"
FROM events
WHERE tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz
  AND category = $4::text
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT $5::integer
-- $1 = 00000000-0000-4000-8000-0000000000aa
-- $2 = 2026-11-27T12:00:00Z
-- $3 = 2026-11-28T12:00:00Z
-- $4 = network
-- $5 = 10
-- columns: network.remote.ip inet, count bigint
-- aggregate: true
