-- ast: (= network.remote.port 70000)
-- error
invalid_argument: 1:21: network.remote.port takes a port (0-65535), got '70000'
  network.remote.port:70000
                      ^
