-- ast: (> event.time 2026-02-30)
-- error
invalid_argument: 1:14: event.time takes a time (2026-11-28T10:00:00Z, 2026-11-28, now, now-1h), got '2026-02-30': day 30 is out of range
  event.time > 2026-02-30
               ^
