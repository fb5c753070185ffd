-- ast: (= event.action dny)
-- error
invalid_argument: 1:14: event.action takes allow, deny or monitor, got 'dny' (did you mean deny?)
  event.action:dny
               ^
