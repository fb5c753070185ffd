-- ast: (range process.pid 10 1)
-- error
invalid_argument: 1:20: the range is empty: 10 is above 1
  process.pid:[10 .. 1]
                     ^
