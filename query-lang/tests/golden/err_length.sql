-- error
invalid_argument: 1:8193: the query is 8218 bytes; at most 8192 are allowed
  ...xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                             ^
