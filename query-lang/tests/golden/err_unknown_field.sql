-- ast: (= frobnicate 1)
-- error
invalid_argument: 1:1: unknown field 'frobnicate'
  frobnicate:1
  ^
