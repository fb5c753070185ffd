-- ast: (= process.pid 4294967296)
-- error
invalid_argument: 1:13: process.pid takes an integer, got '4294967296': out of range (-2147483648 to 2147483647)
  process.pid:4294967296
              ^
