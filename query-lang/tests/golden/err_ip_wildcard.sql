-- ast: (= network.remote.ip 10.0.*)
-- error
invalid_argument: 1:19: wildcards only work on text fields; network.remote.ip takes an IP address or a CIDR network (for a network use CIDR: 10.0.0.0/8)
  network.remote.ip:10.0.*
                    ^
