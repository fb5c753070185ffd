-- ast: * | timechart 1s
-- error
invalid_argument: 1:13: the interval of timechart must be between 10s and 366d
  | timechart 1s
              ^
