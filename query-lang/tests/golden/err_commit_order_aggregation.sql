-- ast: * | count by process.name
-- error
invalid_argument: 1:3: aggregations are not available in commit order (an export lists events)
  | count by process.name
    ^
