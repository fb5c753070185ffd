-- ast: (= process.pid 12*)
-- error
invalid_argument: 1:13: wildcards only work on text fields; process.pid takes an integer
  process.pid:12*
              ^
