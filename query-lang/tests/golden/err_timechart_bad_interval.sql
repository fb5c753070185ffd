-- ast: * | timechart 5x
-- error
invalid_argument: 1:13: timechart takes an interval like 30s, 5m, 1h or 1d, got '5x'
  | timechart 5x
              ^
