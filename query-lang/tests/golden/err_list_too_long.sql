-- error
invalid_argument: 1:402: a list holds at most 100 values
  ..., 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]
                                             ^
