-- error
invalid_argument: 1:19: unknown escape in a quoted string: only \" and \\ are escapes
  process.cmdline:"a\nb"
                    ^
