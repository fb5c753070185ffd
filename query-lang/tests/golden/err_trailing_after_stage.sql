-- error
invalid_argument: 1:25: unexpected 'host.name' after the 'count' stage (stages are separated by '|')
  | count by process.name host.name
                          ^
