-- error
invalid_argument: 1:3: unknown pipe command 'cout' (did you mean count?)
  | cout
    ^
