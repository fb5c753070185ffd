-- error
invalid_argument: 1:14: use ':' for equality: 'process.name:value'
  process.name = bash
               ^
