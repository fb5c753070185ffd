-- error
invalid_argument: 1:20: empty parentheses
  process.name:bash ()
                     ^
