-- The ceiling: POST /bench/bare, one plain row per request, no authentication.
-- args: none
function setup(thread) bench_setup(thread) end

function init(args)
   statuses = {}
   counter = 0
end

function request()
   counter = counter + 1
   return wrk.format("POST", "/bench/bare", {["Content-Type"] = "application/json"},
      string.format('{"note": "row %d-%d"}', id, counter))
end

function response(status, headers, body)
   bench_count(status)
end
