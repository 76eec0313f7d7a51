-- Inspect scans (a regulator's, by default) spread over a pool of collected containers.
-- args: <data.lua>; data = {tag, token, payloads = {...}}
function setup(thread) bench_setup(thread) end

function init(args)
   data = dofile(args[1])
   statuses = {}
   counter = 0
   headers = {["Content-Type"] = "application/json",
              ["Authorization"] = "Bearer " .. data.token}
end

function request()
   counter = counter + 1
   local payloads = data.payloads
   local qr = payloads[(counter * 7 + id * 13) % #payloads + 1]
   local body = string.format(
      '{"qr_payload": "%s", "action": "inspect", "client_event_id": "%s-%d-%d", '
         .. '"scanned_at": "%s", "note": "bench inspection"}',
      qr, data.tag, id, counter, os.date("!%Y-%m-%dT%H:%M:%SZ"))
   return wrk.format("POST", "/api/v1/scans", headers, body)
end

function response(status, headers, body)
   bench_count(status)
end
