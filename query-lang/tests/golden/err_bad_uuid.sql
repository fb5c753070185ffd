-- ast: (= event.id not-a-uuid)
-- error
invalid_argument: 1:10: event.id takes a UUID, got 'not-a-uuid'
  event.id:not-a-uuid
           ^
