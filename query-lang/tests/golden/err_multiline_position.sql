-- ast: (and (= process.name curl) (= network.remote.port http))
-- error
invalid_argument: 2:27: network.remote.port takes a port (0-65535), got 'http'
    and network.remote.port:http
                            ^
