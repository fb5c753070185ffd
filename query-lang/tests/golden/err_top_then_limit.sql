-- ast: * | top 5 process.name | limit 3
-- error
invalid_argument: 1:24: 'top N' already limits the rows to N
  | top 5 process.name | limit 3
                         ^
