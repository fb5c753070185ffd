-- error
invalid_argument: 1:20: expected a pipe command (count, top, sort, limit, timechart) after '|', got the end of the query
  process.name:bash |
                     ^
