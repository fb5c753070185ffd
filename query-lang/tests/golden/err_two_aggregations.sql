-- ast: * | count | top 5 process.name
-- error
invalid_argument: 1:11: only one aggregation per query: 'count' at 1:3 already aggregates
  | count | top 5 process.name
            ^
