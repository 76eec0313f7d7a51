-- Phone batches: POST /mobile/v1/sync with `data.size` collect scans, each batch over fresh
-- labelled containers of one hospital.
-- args: <data.lua>; data = {tag, at, batches = {{token, site, lat, lon, {qr...}}}}
-- `at` is the scans' time, taken after the containers were registered: to the microsecond, as a
-- phone's, so that no scan is dated before its container's registration (wrk's Lua clock has
-- whole seconds only; a collect dated in the second of its registration is a clock_skew).
function setup(thread) bench_setup(thread) end

function init(args)
   data = dofile(args[1])
   statuses = {}
   nthreads = data.threads
   next_batch = id
   -- This thread's batches: id, id + nthreads, ...
   mine = 0
   for _ = id, #data.batches, nthreads do mine = mine + 1 end
   answered = 0
   -- wrk calls request() once on the first thread's state to check the script, and never
   -- sends what it returns: that call must not use up a batch.
   checking = id == 1
end

function request()
   if checking then
      checking = false
      return wrk.format("GET", "/health")
   end
   local batch = data.batches[next_batch]
   if batch == nil then
      -- Every batch sent (wrk still wants a request back; the thread stops at the last
      -- answer, so this one is never counted).
      return wrk.format("GET", "/health")
   end
   local n = next_batch
   next_batch = next_batch + nthreads
   local at = data.at
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
   answered = answered + 1
   -- Stopped here, not in request(): wrk drops the answer still awaited when a thread stops.
   if answered >= mine then wrk.thread:stop() end
end
