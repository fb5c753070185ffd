-- error
invalid_argument: 1:129: nesting is deeper than 32 levels of parentheses and 'not'
  ...not not not not not not not not not not not process.name:bash
                                             ^
