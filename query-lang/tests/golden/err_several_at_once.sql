-- ast: (and (= proces.name x) (= event.action dny) (= network.remote.port -1)) | count by hostname
-- error
invalid_argument: 1:1: unknown field 'proces.name' (did you mean process.name?)
  proces.name:x event.action:dny and network.remote.port:-1 | count by hostname
  ^
1:28: event.action takes allow, deny or monitor, got 'dny' (did you mean deny?)
  proces.name:x event.action:dny and network.remote.port:-1 | count by hostname
                             ^
1:56: network.remote.port takes a port (0-65535), got '-1'
  proces.name:x event.action:dny and network.remote.port:-1 | count by hostname
                                                         ^
1:70: unknown field 'hostname' (did you mean host.name?)
  ...y and network.remote.port:-1 | count by hostname
                                             ^
