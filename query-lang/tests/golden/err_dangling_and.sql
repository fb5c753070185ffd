-- error
invalid_argument: 1:22: expected a term, got the end of the query
  process.name:bash and
                       ^
