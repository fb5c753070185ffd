-- error
invalid_argument: 1:14: expected '!=' (use 'not' to negate a term)
  process.name ! bash
               ^
