-- ast: * | count | limit 3
-- error
invalid_argument: 1:11: 'count' returns one row: limit has no effect
  | count | limit 3
            ^
