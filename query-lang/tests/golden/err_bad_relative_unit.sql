-- ast: (> event.time now-1y)
-- error
invalid_argument: 1:14: event.time takes a time (2026-11-28T10:00:00Z, 2026-11-28, now, now-1h), got 'now-1y': unknown unit 'y' (s, m, h, d or w)
  event.time > now-1y
               ^
