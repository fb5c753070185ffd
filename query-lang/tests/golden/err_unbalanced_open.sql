-- error
invalid_argument: 1:19: expected ')' to close the '(' at 1:1, got the end of the query
  (process.name:bash
                    ^
