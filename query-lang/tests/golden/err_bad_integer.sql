-- ast: (= process.pid 12ab)
-- error
invalid_argument: 1:13: process.pid takes an integer, got '12ab'
  process.pid:12ab
              ^
