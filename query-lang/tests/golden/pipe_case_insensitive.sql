-- ast: * | count by process.name | sort count desc | limit 3
SELECT process_name AS "process.name", count(*) AS "count"
FROM events
WHERE tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT $4::integer
-- $1 = 00000000-0000-4000-8000-0000000000aa
-- $2 = 2026-11-27T12:00:00Z
-- $3 = 2026-11-28T12:00:00Z
-- $4 = 3
-- columns: process.name text, count bigint
-- aggregate: true
