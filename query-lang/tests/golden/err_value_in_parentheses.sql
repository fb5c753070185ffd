-- error
invalid_argument: 1:14: expected a value after ':' (for any of several values use [a, b])
  process.name:(a or b)
               ^
