-- ast: (= network.remote.ip 10.0.0.0/33)
-- error
invalid_argument: 1:19: network.remote.ip takes an IP address or a CIDR network, got '10.0.0.0/33': the prefix length must be at most 32
  network.remote.ip:10.0.0.0/33
                    ^
