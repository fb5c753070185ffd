-- wrk script: POST /v1/agents/{id}/heartbeat, each agent with its own
-- credential, rotating over every agent of a file.
--
--   wrk ... -s heartbeat.lua https://127.0.0.1:PORT -- AGENTS_FILE THREADS
--
-- AGENTS_FILE: one "<agent id> <credential>" per line (bench_setup.py).
-- THREADS: wrk's -t. Thread k starts at the k-th slice of the file, so two
-- threads never send the same agent's heartbeat at the same moment (as long
-- as there are more agents than connections).
--
-- Every request is built once in init(): request() only picks the next one,
-- so the load generator spends its CPU on the connection, not on Lua.

local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local requests = {}
local pos = 1

function init(args)
  local path, threads = args[1], tonumber(args[2] or "1")
  assert(path, "usage: -- AGENTS_FILE THREADS")
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    local id, credential = line:match("^(%S+)%s+(%S+)$")
    if id then
      requests[#requests + 1] = wrk.format("POST", "/v1/agents/" .. id .. "/heartbeat", {
        ["Authorization"] = "Bearer " .. credential,
        ["Content-Type"] = "application/json",
      }, '{"events_sent":1000,"events_dropped":0,"events_spooled":0,"policy_version":1}')
    end
  end
  f:close()
  assert(#requests > 0, "no agents in " .. path)
  pos = math.floor(#requests * (thread_index or 0) / threads) % #requests + 1
end

function request()
  local r = requests[pos]
  pos = pos % #requests + 1
  return r
end
