-- ast: (= labels.a$b x)
-- error
invalid_argument: 1:8: a label key is 1 to 63 characters of A-Z a-z 0-9 . _ / -, got 'a$b'
  labels.a$b:x
         ^
