-- error
invalid_argument: 1:18: ')' without a matching '('
  process.name:bash)
                   ^
