-- error
invalid_argument: 1:33: nesting is deeper than 32 levels of parentheses and 'not'
  (((((((((((((((((((((((((((((((((process.name:bash)))))))))))))))))))))))))))))))))
                                  ^
