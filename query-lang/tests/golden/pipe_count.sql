-- ast: (= event.action deny) | count
SELECT count(*) AS "count"
FROM events
WHERE tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz
  AND action = $4::text
-- $1 = 00000000-0000-4000-8000-0000000000aa
-- $2 = 2026-11-27T12:00:00Z
-- $3 = 2026-11-28T12:00:00Z
-- $4 = deny
-- columns: count bigint
-- aggregate: true
