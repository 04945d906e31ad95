-- wrk script for bench/load.py: every request carries a unique prompt token, and every answer must
-- carry back a token this thread sent and has not had answered yet (the simulator's deterministic
-- answer quotes the prompt), so a lost, duplicated or crossed answer is counted.
local thread_id = 0
local threads = {}
local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"
local path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
-- BENCH_PREFER=respond-async: every call is answered 202 at once; a 202 carrying a request id counts as ok
local prefer = os.getenv("BENCH_PREFER")

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  ok, non200, crossed = 0, 0, 0
  pending = {}
  math.randomseed(os.time() * 1000 + tid)
  salt = tostring(math.random(100000000, 999999999))
end

function request()
  counter = counter + 1
  local token = string.format("tok-%s-%d-%d", salt, tid, counter)
  pending[token] = true
  local body = string.format(
    '{"model":"%s","messages":[{"role":"user","content":"benchmark prompt %s"}]}', model, token)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench"}
  if prefer then
    headers["Prefer"] = prefer
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if prefer and status == 202 and string.find(body, '"id":"req_', 1, true) then
    ok = ok + 1
    return
  end
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local token = string.match(body, "tok%-%d+%-%d+%-%d+")
  if token and pending[token] then
    pending[token] = nil
    ok = ok + 1
  else
    crossed = crossed + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("ok")
    b = b + t:get("non200")
    c = c + t:get("crossed")
  end
  io.write(string.format("BENCH-CHECK ok=%d non200=%d crossed=%d\n", a, b, c))
  io.write(string.format("BENCH-LATENCY p50_ms=%.1f p99_ms=%.1f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
