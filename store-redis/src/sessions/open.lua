-- Stores a new session, unless ARGV[4] sessions live already (counting every replica's).
-- KEYS[1]: the session's record; KEYS[2]: the live sessions' ids, each scored by its expiry in
-- milliseconds since the Unix epoch on the server's clock.
-- ARGV[1]: the id; ARGV[2]: the record; ARGV[3]: milliseconds to live; ARGV[4]: the cap.
-- Returns 1 when the session was stored, 0 when the cap is reached.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- A record expires once its expiry has passed: its id stops counting at the same moment.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%.0f', now))
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
return 1
