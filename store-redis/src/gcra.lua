-- Takes one token from the GCRA bucket KEYS[1] on the server's clock.
-- KEYS[1]: the bucket's theoretical arrival time (TAT), in microseconds since the Unix epoch.
-- ARGV[1]: microseconds between two tokens; ARGV[2]: tokens a full bucket holds.
-- Returns {allowed (1 or 0), tokens remaining, microseconds until full, microseconds to wait}.
local interval = tonumber(ARGV[1])
local capacity = interval * tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local ahead = math.max(tat - now, 0)
local after = ahead + interval
if after > capacity then
  return {0, math.floor(math.max(capacity - ahead, 0) / interval), ahead, after - capacity}
end
-- The key lives until the bucket is full again: a missing key is a full bucket.
local ttl_ms = math.ceil(after / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', now + after), 'PX', string.format('%.0f', ttl_ms))
return {1, math.floor((capacity - after) / interval), after, 0}
