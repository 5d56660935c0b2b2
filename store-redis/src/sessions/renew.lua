-- Renews a session's lifetime, if its record still exists, and then:
-- ARGV[3] = 'load': answers its record; 'save': replaces it with ARGV[4]; 'touch': nothing more.
-- KEYS[1]: the session's record; KEYS[2]: the live sessions' ids, each scored by its expiry in
-- milliseconds since the Unix epoch on the server's clock.
-- ARGV[1]: the id; ARGV[2]: milliseconds to live.
-- Returns the record (load) or 1 (save, touch); nil when the session does not exist.
local found
if ARGV[3] == 'load' then
  found = redis.call('GET', KEYS[1])
  if found then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
elseif ARGV[3] == 'save' then
  found = redis.call('SET', KEYS[1], ARGV[4], 'XX', 'PX', ARGV[2]) and 1
else
  found = redis.call('PEXPIRE', KEYS[1], ARGV[2]) == 1 and 1
end
if not found then
  return false
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
return found
