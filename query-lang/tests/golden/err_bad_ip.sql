-- ast: (= network.remote.ip 10.0.0.256)
-- error
invalid_argument: 1:19: network.remote.ip takes an IP address or a CIDR network, got '10.0.0.256': not an IPv4 address
  network.remote.ip:10.0.0.256
                    ^
