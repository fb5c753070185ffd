-- wrk script: POST /v1/agents/register with one enrollment token, every
-- request for a NEW container (so every answer is a 201 and a new agent row,
-- never the cheaper re-registration).
--
--   wrk ... -s register.lua https://127.0.0.1:PORT -- TOKEN_FILE PREFIX
--
-- TOKEN_FILE: the enrollment token's secret on its first line.
-- PREFIX: unique per wrk run (container ids are PREFIX-t<thread>-<counter>).

local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local headers
local prefix
local counter = 0

function init(args)
  local path = args[1]
  prefix = args[2]
  assert(path and prefix, "usage: -- TOKEN_FILE PREFIX")
  local f = assert(io.open(path, "r"))
  local token = f:read("*l")
  f:close()
  assert(token and #token > 0, "empty token file " .. path)
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  prefix = prefix .. "-t" .. tostring(thread_index or 0) .. "-"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"container_id":"%s%d","image_name":"registry.example/bench/app",' ..
    '"image_digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000",' ..
    '"hostname":"bench-host-%d","labels":{"bench":"register"},' ..
    '"agent_version":"bench","kernel_version":"6.1.0"}',
    prefix, counter, counter % 50)
  return wrk.format("POST", "/v1/agents/register", headers, body)
end
