-- ast: (= event.enforced maybe)
-- error
invalid_argument: 1:16: event.enforced takes true or false, got 'maybe'
  event.enforced:maybe
                 ^
