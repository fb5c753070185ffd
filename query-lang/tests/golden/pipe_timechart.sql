-- ast: (= event.action deny) | timechart 5m
SELECT date_bin($4::interval, ts, TIMESTAMPTZ '1970-01-01T00:00:00Z') AS "time", count(*) AS "count"
FROM events
WHERE tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz
  AND action = $5::text
GROUP BY 1
ORDER BY 1
-- $1 = 00000000-0000-4000-8000-0000000000aa
-- $2 = 2026-11-27T12:00:00Z
-- $3 = 2026-11-28T12:00:00Z
-- $4 = 300 seconds
-- $5 = deny
-- columns: time timestamptz, count bigint
-- aggregate: true
