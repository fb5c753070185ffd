-- error
invalid_argument: 1:17: unterminated quoted string
  process.cmdline:"abc
                  ^
