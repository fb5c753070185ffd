-- ast: * | count
-- error
invalid_argument: 1:3: a cursor pages event listings, not aggregations
  | count
    ^
