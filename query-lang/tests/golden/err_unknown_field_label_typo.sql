-- ast: (= label.app web)
-- error
invalid_argument: 1:1: unknown field 'label.app' (did you mean labels.app?)
  label.app:web
  ^
