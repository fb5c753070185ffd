-- ast: (= labels web)
-- error
invalid_argument: 1:1: labels needs a key: labels.<key>:value (or labels:* for any label)
  labels:web
  ^
