-- ast: (range host.name a z)
-- error
invalid_argument: 1:1: a range needs a number, a time or an IP address; host.name is text
  host.name:[a .. z]
  ^
