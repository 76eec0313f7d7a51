-- Phone batches: POST /mobile/v1/sync with `data.size` collect scans, each batch over fresh
-- labelled containers of one hospital.
-- args: <data.lua>; data = {tag, size, batches = {{token, site, lat, lon, {qr...}}}}
function setup(thread) bench_setup(thread) end

function init(args)
   data = dofile(args[1])
   statuses = {}
   nthreads = data.threads
   next_batch = id
end

function request()
   local batch = data.batches[next_batch]
   if batch == nil then
      -- Every batch sent: stop this thread (wrk still wants a request back).
      wrk.thread:stop()
      return wrk.format("GET", "/health")
   end
   local n = next_batch
   next_batch = next_batch + nthreads
   local at = os.date("!%Y-%m-%dT%H:%M:%SZ")
   local scans = {}
   for i, qr in ipairs(batch[5]) do
      scans[i] = string.format(
         '{"qr_payload": "%s", "action": "collect", "client_event_id": "%s-%d-%d", '
            .. '"scanned_at": "%s", "weight_kg": 3.5, "site_id": "%s", "latitude": %s, '
            .. '"longitude": %s}',
         qr, data.tag, n, i, at, batch[2], batch[3], batch[4])
   end
   local body = string.format('{"device_id": "bench-phone-%d", "scans": [%s]}', n,
      table.concat(scans, ", "))
   return wrk.format("POST", "/mobile/v1/sync",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. batch[1]}, body)
end

function response(status, headers, body)
   bench_count(status)
end
