-- ast: * | sort process.pid asc | count by host.name
-- error
invalid_argument: 1:3: 'sort' before 'count' has no effect: sort the result of the aggregation instead
  | sort process.pid | count by host.name
    ^
