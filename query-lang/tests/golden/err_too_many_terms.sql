-- error
invalid_argument: 1:1939: the query has more than 128 terms
  ...pid:125 process.pid:126 process.pid:127 process.pid:128
                                             ^
