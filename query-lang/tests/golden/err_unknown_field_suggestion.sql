-- ast: (= proces.name bash)
-- error
invalid_argument: 1:1: unknown field 'proces.name' (did you mean process.name?)
  proces.name:bash
  ^
