-- ast: * | limit 0
-- error
invalid_argument: 1:9: limit takes at least 1 row
  | limit 0
          ^
