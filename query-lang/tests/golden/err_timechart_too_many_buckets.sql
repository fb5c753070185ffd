-- ast: * | timechart 10s
-- error
invalid_argument: 1:13: timechart 10s makes 237600 buckets over the time range (at most 5000): use 8m or more
  | timechart 10s
              ^
