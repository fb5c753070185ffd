-- ast: (> network.remote.ip 10.0.0.0/8)
-- error
invalid_argument: 1:21: a comparison takes an address, not a network (for a network use network.remote.ip:10.0.0.0/8)
  network.remote.ip > 10.0.0.0/8
                      ^
