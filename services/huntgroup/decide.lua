-- services/huntgroup/decide.lua: every hunt group decision, one run per request, atomic in
-- Redis (no other command runs meanwhile), so any huntgroup instance gives the same answer and
-- two instances never offer one agent two calls. Keys and exact semantics: docs/huntgroup.md.
-- Nothing here reads a clock or draws a random number: now_ms and rand come in ARGV.
-- ARGV: op, now_ms, rand, caller_timeout_ms, call_id, group, caller, agent, result, talk_ms,
--       retry_ms, interval_ms (stats: a 15-minute interval's figures instead of the totals),
--       dialled (next: the number the caller dialled)
-- Reply: {status, reason, ring_ms, retry_ms, position, overflow, {user, device, ...},
--         {{type, group, agent, state, call_id, position, wait_ms}, ...}, {key, value, ...}}
local op, now, rnd, stale_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cid, gid, caller, agent, result = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local talk = tonumber(ARGV[10]) or 0
local OFFER_GRACE = 2000
local events = {}

local function ev(t, g, a, st, c, pos, wait)
  events[#events + 1] = {t, g, a or '', st or '', c or '', tostring(pos or 0), tostring(wait or 0)}
end

local function reply(status, reason, ring, retry, pos, overflow, agents, extra)
  return {status, reason or '', ring or 0, retry or 0, pos or 0, overflow or '', agents or {}, events,
          extra or {}}
end

local function stat(g, field, n)
  local b = 'rw:hg:stats:' .. g .. ':' .. (now - now % 900000)
  redis.call('HINCRBY', 'rw:hg:stats:' .. g, field, n)
  redis.call('HINCRBY', b, field, n)
  redis.call('PEXPIRE', b, 8 * 86400000)
end

local function stat_max(g, field, v)
  for _, k in ipairs({'rw:hg:stats:' .. g, 'rw:hg:stats:' .. g .. ':' .. (now - now % 900000)}) do
    if v > tonumber(redis.call('HGET', k, field) or '0') then redis.call('HSET', k, field, v) end
  end
end

local function hash(key)
  local h, flat = {}, redis.call('HGETALL', key)
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

local function set_of(list)
  local s = {}
  for w in string.gmatch(list or '', '[^,]+') do s[w] = true end
  return s
end

local function subset(a, b)       -- every skill of a is in b
  for k in pairs(a) do if not b[k] then return false end end
  return true
end

-- The agent's state at now: wrap-up and unanswered offers end by themselves. Read once per
-- run (set_state forgets it), as are group log-ins and personal calls.
local seen_state, seen_in, seen_free = {}, {}, {}
local function astate(u)
  local c = seen_state[u]
  if c then return c[1], c[2] end
  local h = redis.call('HMGET', 'rw:hg:agent:' .. u, 'state', 'wrap_until', 'offer_until', 'offer_call')
  local s = h[1] or 'logged_out'
  if s == 'wrap_up' and tonumber(h[2] or '0') <= now then s = 'available' end
  if s == 'offered' and tonumber(h[3] or '0') <= now then s = 'available' end
  seen_state[u] = {s, h[4] or ''}
  return s, h[4] or ''
end

local function logged_in(u, g)
  local k = u .. '|' .. g
  if seen_in[k] == nil then seen_in[k] = redis.call('SISMEMBER', 'rw:hg:agent:' .. u .. ':groups', g) == 1 end
  return seen_in[k]
end

local function no_personal_call(u)
  if seen_free[u] == nil then seen_free[u] = redis.call('SCARD', 'rw:hg:personal:' .. u) == 0 end
  return seen_free[u]
end

local function set_state(u, s, g, extra)
  local a = 'rw:hg:agent:' .. u
  seen_state[u] = nil
  redis.call('HSET', a, 'state', s, 'since', now)
  if extra then redis.call('HSET', a, unpack(extra)) end
  for _, grp in ipairs(redis.call('SMEMBERS', a .. ':groups')) do
    ev('queue.agent_state', grp, u, s, '', 0, 0)
  end
  if g and redis.call('SISMEMBER', a .. ':groups', g) == 0 then ev('queue.agent_state', g, u, s, '', 0, 0) end
end

-- The agents currently offered call c, whose offer still stands.
local function live_offers(c, ch)
  local out = {}
  for u in string.gmatch(ch.offered or '', '[^,]+') do
    local s, oc = astate(u)
    if s == 'offered' and oc == c then out[#out + 1] = u end
  end
  return out
end

local function release(c, ch, except)
  for _, u in ipairs(live_offers(c, ch)) do
    if u ~= except then set_state(u, 'available', nil, {'offer_call', ''}) end
  end
end

local function members(g)
  local list, flat = {}, redis.call('HGETALL', 'rw:group:' .. g .. ':members')
  for i = 1, #flat, 2 do
    local m = cjson.decode(flat[i + 1])
    m.user = flat[i]
    m.tier = tonumber(m.tier) or 1
    m.penalty = tonumber(m.penalty) or 0
    m.weight = tonumber(m.weight) or 1
    m.pos = tonumber(m.pos) or 0
    m.skillset = set_of(m.skills)
    list[#list + 1] = m
  end
  table.sort(list, function(a, b)
    if a.tier ~= b.tier then return a.tier < b.tier end
    if a.penalty ~= b.penalty then return a.penalty < b.penalty end
    return a.pos < b.pos
  end)
  return list
end

local function leave_queue(c, ch, g)
  redis.call('ZREM', 'rw:hg:q:' .. g, c)
  release(c, ch, nil)
end

local function overflow_reply(g, grp, reason, c, ch)
  if ch then
    leave_queue(c, ch, g)
    redis.call('HSET', 'rw:hg:call:' .. c, 'state', 'overflowed')
    redis.call('PEXPIRE', 'rw:hg:call:' .. c, 3600000)
  end
  stat(g, 'overflowed', 1)
  ev('queue.overflowed', g, '', grp.overflow or 'busy', c, 0, ch and (now - tonumber(ch.joined)) or 0)
  return reply('overflow', reason, 0, 0, 0, grp.overflow or 'busy')
end

-- Callers whose sip-edge stopped asking are gone: their place is freed, counted abandoned.
local function drop_stale(g, ahead)
  for _, other in ipairs(ahead) do
    local oh = hash('rw:hg:call:' .. other)
    if (not oh.seen or tonumber(oh.seen) + stale_ms < now) and #live_offers(other, oh) == 0 then
      leave_queue(other, oh, g)
      redis.call('DEL', 'rw:hg:call:' .. other)
      stat(g, 'abandoned', 1)
      ev('queue.abandoned', g, '', 'caller_lost', other, 0, oh.joined and (now - tonumber(oh.joined)) or 0)
    end
  end
end

local function join(g, grp, c)
  local q = 'rw:hg:q:' .. g
  local maxlen = tonumber(grp.max_len or '0')
  if maxlen > 0 and redis.call('ZCARD', q) >= maxlen then
    return nil, overflow_reply(g, grp, 'queue full', c, nil)
  end
  if grp.join_empty ~= '1' and redis.call('SCARD', 'rw:hg:logged:' .. g) == 0 then
    return nil, overflow_reply(g, grp, 'no agent logged in', c, nil)
  end
  local skills = set_of(grp.skills)
  for item in string.gmatch(grp.caller_skills or '', '[^,]+') do
    local prefix, skill = string.match(item, '^([^:]+):(.+)$')
    if prefix and string.sub(caller, 1, #prefix) == prefix then skills[skill] = true end
  end
  local dialled = ARGV[13] or ''
  for item in string.gmatch(grp.dialled_skills or '', '[^,]+') do
    local number, skill = string.match(item, '^([^:]+):(.+)$')
    if number and dialled ~= '' and number == dialled then skills[skill] = true end
  end
  local list = {}
  for k in pairs(skills) do list[#list + 1] = k end
  table.sort(list)
  local prio = set_of(grp.priority)[caller] and 1 or 0
  local seq = redis.call('INCR', 'rw:hg:seq:' .. g)
  redis.call('HSET', 'rw:hg:call:' .. c, 'group', g, 'caller', caller, 'joined', now, 'seen', now,
             'seq', seq, 'prio', prio, 'skills', table.concat(list, ','), 'offered', '', 'state', 'waiting')
  redis.call('ZADD', q, (prio == 1 and 0 or 1e12) + seq, c)
  stat(g, 'joined', 1)
  local pos = redis.call('ZRANK', q, c) + 1
  ev('queue.joined', g, '', prio == 1 and 'priority' or '', c, pos, 0)
  return hash('rw:hg:call:' .. c), nil
end

-- The highest tier the call may be offered to now (docs/huntgroup.md, "Tiers").
local function allowed_tier(grp, mem, wait, need, g)
  local w = tonumber(grp.tier_wait_s or '0') * 1000
  local by_time = 9
  if w > 0 then by_time = 1 + math.floor(wait / w) end
  local top = 1
  while top < 9 do
    local staffed, free = false, false
    for _, m in ipairs(mem) do
      if m.tier <= top and subset(need, m.skillset) and logged_in(m.user, g) then
        local s = astate(m.user)
        if s ~= 'paused' then staffed = true end
        if s == 'available' and no_personal_call(m.user) then free = true end
      end
    end
    if free then break end
    if w > 0 then
      if staffed and top >= by_time then break end
    end
    top = top + 1
  end
  return top
end

local function eligible(g, mem, need, top, exclude)
  local out = {}
  for _, m in ipairs(mem) do
    if m.tier <= top and not exclude[m.user] and subset(need, m.skillset) and logged_in(m.user, g)
       and astate(m.user) == 'available' and no_personal_call(m.user) then
      out[#out + 1] = m
    end
  end
  return out
end

local function min_by(list, value)
  local best, bv = nil, nil
  for _, m in ipairs(list) do
    local v = value(m)
    if not best or v < bv then best, bv = m, v end
  end
  return best
end

-- The next eligible member after the one at index `from` of the full order, cyclically.
local function next_after(mem, from, ok)
  local n = #mem
  for k = 1, n do
    local m = mem[((from + k - 1) % n) + 1]
    if ok[m.user] then return m end
  end
  return nil
end

local function pick(g, grp, mem, elig, ch)
  local strategy = grp.strategy or 'rrmemory'
  if #elig == 0 then return {} end
  if strategy == 'ringall' then
    local all = {}
    for i = 1, math.min(#elig, 16) do all[i] = elig[i] end
    return all
  end
  if strategy == 'linear' then return {elig[1]} end
  if strategy == 'rrmemory' or strategy == 'rrordered' then
    local ok = {}
    for _, m in ipairs(elig) do ok[m.user] = true end
    local rr = 'rw:hg:rr:' .. g
    local from = 0
    if strategy == 'rrmemory' then
      local last = redis.call('HGET', rr, 'last')
      for i, m in ipairs(mem) do if m.user == last then from = i end end
    else
      from = tonumber(redis.call('HGET', rr, 'idx') or '0')
      if from > #mem then from = 0 end
    end
    local m = next_after(mem, from, ok)
    for i, x in ipairs(mem) do if x == m then redis.call('HSET', rr, 'last', m.user, 'idx', i) end end
    return {m}
  end
  local ac = 'rw:hg:ac:' .. g
  if strategy == 'longest_idle' then
    return {min_by(elig, function(m)
      return tonumber(redis.call('HGET', 'rw:hg:agent:' .. m.user, 'idle_since') or '0') end)}
  end
  if strategy == 'fewest_calls' then
    return {min_by(elig, function(m) return tonumber(redis.call('HGET', ac, m.user .. ':calls') or '0') end)}
  end
  if strategy == 'least_talk' then
    return {min_by(elig, function(m) return tonumber(redis.call('HGET', ac, m.user .. ':talk') or '0') end)}
  end
  if strategy == 'random' then return {elig[(rnd % #elig) + 1]} end
  if strategy == 'weighted_random' then
    local total = 0
    for _, m in ipairs(elig) do total = total + m.weight end
    local r = rnd % total
    for _, m in ipairs(elig) do
      if r < m.weight then return {m} end
      r = r - m.weight
    end
    return {elig[#elig]}
  end
  if strategy == 'ring_progressive' then
    local start, step = tonumber(grp.prog_start or '1'), tonumber(grp.prog_step_s or '5') * 1000
    local want = start
    if ch.offer_at and ch.offer_at ~= '' then want = start + math.floor((now - tonumber(ch.offer_at)) / step) end
    local have = #live_offers(cid, ch)
    local out = {}
    for i = 1, math.min(#elig, want - have, 16 - have) do out[i] = elig[i] end
    return out
  end
  return {elig[1]}
end

local function agents_flat(list, mem)
  local dev = {}
  for _, m in ipairs(mem) do dev[m.user] = m.device or '' end
  local flat = {}
  for _, u in ipairs(list) do flat[#flat + 1] = u; flat[#flat + 1] = dev[u] or '' end
  return flat
end

local function op_next()
  local grp = hash('rw:group:' .. gid)
  if not grp.id then return reply('error', 'unknown group ' .. gid) end
  local ring = tonumber(grp.ring_ms or '15000')
  local retry = tonumber(ARGV[11]) or 1000
  local ck = 'rw:hg:call:' .. cid
  local ch = hash(ck)
  if not ch.group then
    local err
    ch, err = join(gid, grp, cid)
    if not ch then return err end
  elseif ch.group ~= gid then
    return reply('error', 'call ' .. cid .. ' waits in group ' .. ch.group)
  elseif ch.state ~= 'waiting' then
    return reply('error', 'call ' .. cid .. ' is ' .. ch.state)
  end
  redis.call('HSET', ck, 'seen', now)
  local q = 'rw:hg:q:' .. gid
  local rank = redis.call('ZRANK', q, cid)
  if not rank then        -- the queue key was lost (flushed): back in at the caller's own place
    redis.call('ZADD', q, (ch.prio == '1' and 0 or 1e12) + tonumber(ch.seq), cid)
    rank = redis.call('ZRANK', q, cid)
  end
  if rank > 0 then drop_stale(gid, redis.call('ZRANGE', q, 0, rank - 1)) end
  local wait = now - tonumber(ch.joined)
  if wait >= tonumber(grp.max_wait_s or '300') * 1000 then
    return overflow_reply(gid, grp, 'waited ' .. math.floor(wait / 1000) .. ' s', cid, ch)
  end
  local pos = redis.call('ZRANK', q, cid) + 1
  local offered = live_offers(cid, ch)
  local progressive = grp.strategy == 'ring_progressive'
  local mem = members(gid)
  if #offered > 0 and not progressive then
    return reply('offer', 'offered', ring, ring, pos, '', agents_flat(offered, mem))
  end
  local need = set_of(ch.skills)
  if #offered == 0 then
    -- arrival order: an earlier caller with no offer yet, whom any agent of ours could serve, goes first
    local ahead = {}
    if pos > 1 then ahead = redis.call('ZRANGE', q, 0, pos - 2) end
    for _, other in ipairs(ahead) do
      local oh = hash('rw:hg:call:' .. other)
      if #live_offers(other, oh) == 0 and subset(set_of(oh.skills), need) then
        return reply('wait', 'caller ' .. other .. ' is ahead', ring, retry, pos)
      end
    end
  end
  local top = allowed_tier(grp, mem, wait, need, gid)
  local exclude = {}
  for _, u in ipairs(offered) do exclude[u] = true end
  local picked = pick(gid, grp, mem, eligible(gid, mem, need, top, exclude), ch)
  if #picked == 0 and #offered == 0 then
    return reply('wait', 'no agent free', ring, retry, pos)
  end
  local until_ms = now + ring + OFFER_GRACE
  for _, m in ipairs(picked) do
    redis.call('HSET', 'rw:hg:agent:' .. m.user, 'offer_call', cid, 'offer_until', until_ms)
    set_state(m.user, 'offered', gid, nil)
    offered[#offered + 1] = m.user
    stat(gid, 'offered', 1)
    ev('queue.offered', gid, m.user, '', cid, pos, wait)
  end
  redis.call('HSET', ck, 'offered', table.concat(offered, ','))
  if #picked > 0 and (not ch.offer_at or ch.offer_at == '' or #offered == #picked) then
    redis.call('HSET', ck, 'offer_at', now)
  end
  if progressive then retry = tonumber(grp.prog_step_s or '5') * 1000 else retry = ring end
  return reply('offer', 'offered', ring, retry, pos, '', agents_flat(offered, mem))
end

local function missed(u, grp)
  local a = 'rw:hg:agent:' .. u
  local n = redis.call('HINCRBY', a, 'missed', 1)
  local limit = tonumber(grp.autopause or '0')
  if limit > 0 and n >= limit then
    set_state(u, 'paused', nil, {'reason', 'missed ' .. n .. ' offers', 'offer_call', ''})
  else
    set_state(u, 'available', nil, {'offer_call', ''})
  end
end

local function op_outcome()
  local ck = 'rw:hg:call:' .. cid
  local ch = hash(ck)
  if not ch.group then return reply('error', 'unknown call ' .. cid) end
  local g = ch.group
  local grp = hash('rw:group:' .. g)
  local wait = now - tonumber(ch.joined)
  redis.call('HSET', ck, 'seen', now)     -- the caller's sip-edge is alive
  if result == 'answered' then
    if ch.state == 'answered' and ch.agent == agent then return reply('done', 'already answered') end
    local s, oc = astate(agent)
    if ch.state ~= 'waiting' or s ~= 'offered' or oc ~= cid then
      return reply('error', agent .. ' was not offered call ' .. cid)
    end
    redis.call('ZREM', 'rw:hg:q:' .. g, cid)
    release(cid, ch, agent)
    redis.call('HSET', ck, 'state', 'answered', 'agent', agent, 'answered', now)
    set_state(agent, 'on_call', nil, {'missed', 0, 'offer_call', '', 'call', cid})
    redis.call('HINCRBY', 'rw:hg:ac:' .. g, agent .. ':calls', 1)
    stat(g, 'answered', 1)
    stat(g, 'wait_sum_ms', wait)
    stat_max(g, 'wait_max_ms', wait)
    if wait <= tonumber(grp.sl_s or '20') * 1000 then stat(g, 'answered_sl', 1) end
    ev('queue.answered', g, agent, '', cid, 0, wait)
    return reply('done', 'answered')
  end
  if result == 'no_answer' or result == 'busy' then
    for _, u in ipairs(live_offers(cid, ch)) do
      if agent == '' or u == agent then missed(u, grp) end
    end
    return reply('done', result)
  end
  if result == 'caller_gone' then
    if ch.state ~= 'waiting' then return reply('done', 'call was ' .. ch.state) end
    leave_queue(cid, ch, g)
    redis.call('DEL', ck)
    stat(g, 'abandoned', 1)
    ev('queue.abandoned', g, '', 'cancelled', cid, 0, wait)
    return reply('done', 'abandoned')
  end
  if result == 'ended' then
    if ch.state ~= 'answered' then return reply('error', 'call ' .. cid .. ' was not answered') end
    local u = ch.agent
    local s = redis.call('HGET', 'rw:hg:agent:' .. u, 'state')
    if s == 'on_call' and redis.call('HGET', 'rw:hg:agent:' .. u, 'call') == cid then
      local wrap = tonumber(grp.wrapup_s or '0') * 1000
      set_state(u, wrap > 0 and 'wrap_up' or 'available', nil,
                {'wrap_until', now + wrap, 'idle_since', now + wrap, 'call', ''})
    end
    redis.call('HINCRBY', 'rw:hg:ac:' .. g, u .. ':talk', talk)
    redis.call('DEL', ck)
    ev('queue.left', g, u, '', cid, 0, tonumber(ch.answered) - tonumber(ch.joined))
    return reply('done', 'ended')
  end
  return reply('error', 'unknown outcome ' .. result)
end

-- A call of an agent's own (not one of the queue's) began or ended (call.* events). 'on'
-- (call.answered) marks the callee's user (agent) and the caller, when the caller (the event's
-- from) is the number or extension of a user who is a member of a group; 'off' (call.ended,
-- call.failed) clears whoever the call marked: a BYE's call.ended names no user, so the call
-- keeps the agents it marked in rw:hg:personal_call:<call id>.
local function op_personal()
  if redis.call('EXISTS', 'rw:hg:call:' .. cid) == 1 then return reply('done', 'queue call') end
  local idx, ttl = 'rw:hg:personal_call:' .. cid, 4 * 3600000
  if result == 'on' then
    local who = {}
    if agent ~= '' then who[1] = agent end
    local u = caller ~= '' and redis.call('GET', 'rw:num:' .. caller)
    if u and u ~= agent and string.sub(u, 1, 6) ~= 'group:'
       and redis.call('EXISTS', 'rw:hg:member_of:' .. u) == 1 then who[#who + 1] = u end
    for _, w in ipairs(who) do
      redis.call('SADD', 'rw:hg:personal:' .. w, cid)
      redis.call('PEXPIRE', 'rw:hg:personal:' .. w, ttl)
      redis.call('SADD', idx, w)
    end
    if #who > 0 then redis.call('PEXPIRE', idx, ttl) end
    return reply('done', 'on')
  end
  local who = redis.call('SMEMBERS', idx)
  if agent ~= '' then who[#who + 1] = agent end
  for _, w in ipairs(who) do redis.call('SREM', 'rw:hg:personal:' .. w, cid) end
  redis.call('DEL', idx)
  return reply('done', 'off')
end

local function op_stats()
  local grp = hash('rw:group:' .. gid)
  if not grp.id then return reply('error', 'unknown group ' .. gid) end
  -- every instance asks for the figures each second: callers lost anywhere in the queue (the
  -- last one too, whom no later caller's request would sweep) are dropped here
  drop_stale(gid, redis.call('ZRANGE', 'rw:hg:q:' .. gid, 0, -1))
  local interval = tonumber(ARGV[12] or '0') or 0
  local key = 'rw:hg:stats:' .. gid
  if interval > 0 then key = key .. ':' .. (interval - interval % 900000) end
  local extra = redis.call('HGETALL', key)
  local q = redis.call('ZRANGE', 'rw:hg:q:' .. gid, 0, -1)
  local longest = 0
  for _, c in ipairs(q) do
    local j = tonumber(redis.call('HGET', 'rw:hg:call:' .. c, 'joined') or now)
    if now - j > longest then longest = now - j end
  end
  extra[#extra + 1] = 'waiting'; extra[#extra + 1] = tostring(#q)
  extra[#extra + 1] = 'longest_wait_ms'; extra[#extra + 1] = tostring(longest)
  local by = {}
  for _, m in ipairs(members(gid)) do
    local s = 'logged_out'
    if redis.call('SISMEMBER', 'rw:hg:agent:' .. m.user .. ':groups', gid) == 1 then s = astate(m.user) end
    by[s] = (by[s] or 0) + 1
  end
  for _, s in ipairs({'available', 'offered', 'on_call', 'wrap_up', 'paused', 'logged_out'}) do
    extra[#extra + 1] = 'agents_' .. s; extra[#extra + 1] = tostring(by[s] or 0)
  end
  extra[#extra + 1] = 'sl_s'; extra[#extra + 1] = grp.sl_s or '20'
  return reply('stats', '', 0, 0, 0, '', {}, extra)
end

if op == 'next' then return op_next() end
if op == 'outcome' then return op_outcome() end
if op == 'personal' then return op_personal() end
if op == 'stats' then return op_stats() end
return reply('error', 'unknown operation ' .. op)
