-- ast: (> process.name a)
-- error
invalid_argument: 1:1: '>' needs a number, a time or an IP address; process.name is text
  process.name > a
  ^
