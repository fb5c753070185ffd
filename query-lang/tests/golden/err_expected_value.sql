-- error
invalid_argument: 1:14: expected a value after ':'
  process.name:
               ^
