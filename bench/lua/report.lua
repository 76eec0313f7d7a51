-- Shared by the bench scripts: per-thread status counts, and one JSON line at the end.
-- The harness prepends it to each script; `threads` is the list setup() fills.

threads = {}

function bench_setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function bench_count(status)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      local per = thread:get("statuses") or {}
      for status, n in pairs(per) do
         counts[status] = (counts[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'WRK-RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
         .. '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, '
         .. '"write": %d, "timeout": %d, "non2xx": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write,
      e.timeout, e.status, table.concat(parts, ", ")))
end
