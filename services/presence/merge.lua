-- services/presence/merge.lua — one user's effective presence, merged from its sources in one
-- atomic step, so that any number of presence instances (and the CLI) agree and each change is
-- reported by exactly one caller. Semantics, keys and precedence: docs/presence.md.
-- The script never reads a clock: the caller passes now_ms.
--
-- ARGV: 1 op ('event', 'manual', 'source', 'sync'), 2 now_ms, 3 ringing_max_ms,
--       4 call_max_ms, 5 registry name of the call.* publishers ('' = no liveness check),
--       6 notify ('1': also queue each change in rw:presence:events, for writers without a bus),
--       7 calls_live_ms (a call noted longer ago than this and no longer listed by its publisher
--         in rw:calls:<publisher> is forgotten; 0 = no such check), then by op:
--   event  8 type (call.* / reg.*), 9 user ('' for reg.*), 10 aor (reg.*), 11 call_id,
--          12 publisher, 13 target, 14 from (the caller as presented)
--   manual 8 user, 9 state ('' clears), 10 until_ms (0 = open)
--   source 8 user, 9 source name ('manual', 'calendar'), 10 value ('' clears)
--   sync   8.. user ids
-- Returns the changes: a flat array of 5 strings each (user, state, source, until_ms, activity);
-- 'manual' and 'source' answer an error for an unknown user or a bad state.
local op, now = ARGV[1], tonumber(ARGV[2])
local ring_max, call_max = tonumber(ARGV[3]), tonumber(ARGV[4])
local registry, notify = ARGV[5], ARGV[6] == '1'
local live_ms = tonumber(ARGV[7]) or 0
local states = { available = 1, busy = 1, away = 1, in_meeting = 1, dnd = 1, offline = 1 }
local live_pubs = nil

local function publisher_live(p)
  if registry == '' or p == '' then return true end
  if not live_pubs then
    live_pubs = {}
    local m = redis.call('ZRANGEBYSCORE', 'rw:svc:' .. registry, now, '+inf')
    for _, v in ipairs(m) do live_pubs[string.match(v, '^([^|]*)')] = true end
    live_pubs.any = #m > 0
  end
  return not live_pubs.any or live_pubs[p] == true
end

-- Any of the user's SIP devices with a live binding (as the router tests it).
local function registered(uk, u)
  local devs = redis.call('HGETALL', uk .. ':devices')
  for i = 2, #devs, 2 do
    local k, a = string.match(devs[i], '^(%S+) ?(.*)$')
    if k == 'sip' then
      if a == '' then a = 'sip:' .. u[1] .. '@' .. (u[2] or '') end
      if redis.call('EXISTS', 'rw:loc:' .. a) == 1 then return true end
    end
  end
  return false
end

-- '<state> <until_ms> [<from_ms>]' in force at now, or nil (an ended one is removed).
local function source_at(sk, name)
  local v = redis.call('HGET', sk, name)
  if not v then return nil end
  local st, untl, from = string.match(v, '^(%S+) (%d+) ?(%d*)$')
  untl = tonumber(untl or '')
  if not st or not states[st] or (untl > 0 and untl <= now) then
    redis.call('HDEL', sk, name)
    return nil
  end
  if from ~= '' and tonumber(from) > now then return nil end
  return { state = st, until_ms = untl }
end

-- Whether the sip-edge process that published a call still vouches for it: its id is in
-- rw:calls:<publisher> (rewritten every second, gone 3 s after the process) or the set holds
-- '*' (its map was full), and no process saw its BYE (rw:calls:ended).
local function vouched(cid, ts, pub)
  if live_ms == 0 or pub == '' then return true end
  if redis.call('ZSCORE', 'rw:calls:ended', cid) then return false end
  if now - ts < live_ms then return true end
  local k = 'rw:calls:' .. pub
  return redis.call('SISMEMBER', k, cid) == 1 or redis.call('SISMEMBER', k, '*') == 1
end

-- The calls in progress: 'on_call' if one was answered, 'ringing' if one rings, else 'idle'.
-- Entries past their bound, from a publisher no longer in the registry, or no longer vouched
-- for by their publisher, are removed.
local function activity(ck)
  local calls = redis.call('HGETALL', ck)
  local act = 'idle'
  for i = 1, #calls, 2 do
    local a, ts, pub = string.match(calls[i + 1], '^(%S+) (%d+) (%S*)')
    ts = tonumber(ts or '')
    local max = a == 'on_call' and call_max or ring_max
    if not ts or now - ts >= max or not publisher_live(pub) or not vouched(calls[i], ts, pub) then
      redis.call('HDEL', ck, calls[i])
    elseif a == 'on_call' then act = 'on_call'
    elseif act == 'idle' then act = 'ringing' end
  end
  return act
end

local changes = {}

local function recompute(id)
  local uk, sk, ck, pk = 'rw:user:' .. id, 'rw:presence:src:' .. id, 'rw:presence:calls:' .. id,
                         'rw:presence:' .. id
  local u = redis.call('HMGET', uk, 'ext', 'realm')
  if not u[1] then
    redis.call('DEL', sk, ck, pk)
    return
  end
  local manual, cal = source_at(sk, 'manual'), source_at(sk, 'calendar')
  local act = activity(ck)
  local st, src, untl
  if manual and manual.state == 'dnd' then st, src, untl = 'dnd', 'manual', manual.until_ms
  elseif act == 'on_call' then st, src, untl = 'busy', 'call', 0
  elseif cal then st, src, untl = cal.state, 'calendar', cal.until_ms
  elseif manual then st, src, untl = manual.state, 'manual', manual.until_ms
  elseif registered(uk, u) then st, src, untl = 'available', 'registration', 0
  else st, src, untl = 'offline', 'registration', 0 end
  untl = tostring(untl)
  local old = redis.call('HMGET', pk, 'state', 'source', 'until_ms', 'activity')
  if old[1] == st and old[2] == src and old[3] == untl and old[4] == act then return end
  redis.call('HSET', pk, 'state', st, 'source', src, 'until_ms', untl, 'activity', act,
             'changed_ms', tostring(now))
  local n = #changes
  changes[n + 1], changes[n + 2], changes[n + 3], changes[n + 4], changes[n + 5] = id, st, src, untl, act
  if notify then
    redis.call('RPUSH', 'rw:presence:events', id .. '\t' .. st .. '\t' .. src .. '\t' .. untl .. '\t' .. act)
    redis.call('LTRIM', 'rw:presence:events', -10000, -1)
  end
end

local function user_of_aor(aor)
  local ext = string.match(aor, '^sips?:([^@;]+)@')
  if not ext then return nil end
  -- a device's own address of record is <ext>-<device>@realm (docs/sip-edge.md)
  return redis.call('GET', 'rw:num:' .. ext) or redis.call('GET', 'rw:num:' .. (string.match(ext, '^(.-)%-[^-]*$') or ''))
end

local function set_source(id, name, value)
  if not redis.call('HGET', 'rw:user:' .. id, 'ext') then return 'unknown user' end
  local sk = 'rw:presence:src:' .. id
  if value == '' then redis.call('HDEL', sk, name)
  else
    local st, untl = string.match(value, '^(%S+) (%d+) ?%d*$')
    if not st or not states[st] then return 'bad value' end
    if tonumber(untl) > 0 and tonumber(untl) <= now then return 'until is past' end
    redis.call('HSET', sk, name, value)
  end
  recompute(id)
  return nil
end

-- One call event for one side of the call: the callee rings and answers (ringing_ok), the
-- caller only answers and ends.
local function call_event(id, typ, cid, target, ringing_ok)
  local ck = 'rw:presence:calls:' .. id
  local entry = ' ' .. ARGV[2] .. ' ' .. ARGV[12] .. ' ' .. target
  if typ == 'call.ringing' then
    if not ringing_ok then return end
    local cur = redis.call('HGET', ck, cid)
    if not cur or string.sub(cur, 1, 8) ~= 'on_call ' then redis.call('HSET', ck, cid, 'ringing' .. entry) end
  elseif typ == 'call.answered' then redis.call('HSET', ck, cid, 'on_call' .. entry)
  elseif typ == 'call.ended' or typ == 'call.failed' then redis.call('HDEL', ck, cid)
  else return end
  redis.call('PEXPIRE', ck, math.max(call_max, ring_max))
  recompute(id)
end

if op == 'event' then
  local typ, id, cid = ARGV[8], ARGV[9], ARGV[11]
  if string.sub(typ, 1, 4) == 'reg.' then
    id = user_of_aor(ARGV[10])
    if id then recompute(id) end
  elseif cid ~= '' and (typ == 'call.ended' or typ == 'call.failed') then
    -- the end of a call names no user when sip-edge saw only the BYE: every user the call
    -- was noted for is in its index
    local ik = 'rw:presence:callidx:' .. cid
    local users, seen = redis.call('SMEMBERS', ik), {}
    if id ~= '' then users[#users + 1] = id end
    redis.call('DEL', ik)
    for _, u in ipairs(users) do
      if not seen[u] then
        seen[u] = true
        redis.call('HDEL', 'rw:presence:calls:' .. u, cid)
        recompute(u)
      end
    end
  elseif cid ~= '' then
    local ik = 'rw:presence:callidx:' .. cid
    if id ~= '' and redis.call('EXISTS', 'rw:user:' .. id) == 1 then
      call_event(id, typ, cid, ARGV[13], true)
      redis.call('SADD', ik, id)
    end
    -- the caller, when it is a colleague's extension (digits only: never a public number)
    local from = ARGV[14] or ''
    local caller = string.match(from, '^%d+$') and redis.call('GET', 'rw:num:' .. from)
    if caller and caller ~= id and typ == 'call.answered' then
      call_event(caller, typ, cid, '', false)
      redis.call('SADD', ik, caller)
    end
    redis.call('PEXPIRE', ik, math.max(call_max, ring_max))
  end
elseif op == 'manual' or op == 'source' then
  local name, value = 'manual', ''
  if op == 'source' then name, value = ARGV[9], ARGV[10]
  elseif ARGV[9] ~= '' then value = ARGV[9] .. ' ' .. ARGV[10] end
  if name ~= 'manual' and name ~= 'calendar' then return redis.error_reply('unknown source') end
  local err = set_source(ARGV[8], name, value)
  if err then return redis.error_reply(err) end
elseif op == 'sync' then
  for i = 8, #ARGV do recompute(ARGV[i]) end
else
  return redis.error_reply('unknown op')
end
return changes
