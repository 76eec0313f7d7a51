-- Whole lives: each container is collected, stored, picked up, received and disposed of, in
-- that order, by the organization whose turn it is. A container's next scan is sent only
-- after the previous one was answered 201, so lives interleave across connections.
-- Each scan is dated as a day's would be, some time after its container's registration
-- (data.born, hours before the run): collected after 10 minutes, stored after 20, picked up
-- after 2 hours, received at the plant after 3 1/2, disposed of after 4. Dated by wrk's clock,
-- seconds apart, the waste would cross tens of kilometres in seconds: impossible travel.
-- args: <data.lua>
-- data = {tag, born, hospitals = {{token, site, lat, lon, manifest}}, driver, plant = {token,
--         site, lat, lon}, containers = {{qr, hospital}}}
function setup(thread)
   bench_setup(thread)
end

function init(args)
   data = dofile(args[1])
   statuses = {}
   counter = 0
   ready = {}        -- FIFO of {container index, step}
   head, tail = 1, 0
   nthreads = data.threads
   next_new = id     -- this thread's containers: id, id + nthreads, ...
end

local STEPS = {"collect", "store", "pickup", "receive", "dispose"}
local AFTER = {600, 1200, 7200, 12600, 14400}  -- seconds after the registration

local function headers(token)
   return {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

local function scan(index, step)
   local c = data.containers[index]
   local h = data.hospitals[c[2]]
   local p = data.plant
   local action = STEPS[step]
   local ceid = string.format("%s-%d-%d", data.tag, index, step)
   local at = os.date("!%Y-%m-%dT%H:%M:%SZ", data.born + AFTER[step])
   local fields, token
   if step == 1 then
      token = h[1]
      fields = string.format('"weight_kg": 4.2, "site_id": "%s", "latitude": %s, "longitude": %s',
         h[2], h[3], h[4])
   elseif step == 2 then
      token = h[1]
      fields = string.format('"site_id": "%s"', h[2])
   elseif step == 3 then
      token = data.driver
      fields = string.format('"manifest_id": "%s", "latitude": %s, "longitude": %s',
         h[5], h[3], h[4])
   elseif step == 4 then
      token = p[1]
      fields = string.format('"weight_kg": 4.2, "site_id": "%s", "latitude": %s, "longitude": %s',
         p[2], p[3], p[4])
   else
      token = p[1]
      fields = string.format('"method": "incineration", "site_id": "%s"', p[2])
   end
   local body = string.format(
      '{"qr_payload": "%s", "action": "%s", "client_event_id": "%s", "scanned_at": "%s", %s}',
      c[1], action, ceid, at, fields)
   return wrk.format("POST", "/api/v1/scans", headers(token), body)
end

function request()
   if head <= tail then
      local item = ready[head]
      ready[head] = nil
      head = head + 1
      return scan(item[1], item[2])
   end
   local index = next_new
   if index > #data.containers then
      -- Out of fresh containers: wrk needs a request, so ask for something harmless.
      return wrk.format("GET", "/health")
   end
   next_new = next_new + nthreads
   return scan(index, 1)
end

function response(status, headers, body)
   bench_count(status)
   if status ~= 201 then return end
   local index, step = string.match(body, '"client_event_id":"' .. data.tag .. '%-(%d+)%-(%d+)"')
   if index == nil then return end
   step = tonumber(step)
   if step < #STEPS then
      tail = tail + 1
      ready[tail] = {tonumber(index), step + 1}
   end
end
