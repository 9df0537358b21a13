/* services/calendar/store.c — the calendar's Redis scripts and their arguments.
 * Meeting presence is written by one Lua function, set_presence(), as the calendar source of
 * the presence merge (docs/presence.md): the only place that knows how a source writes presence. */
#include "services/calendar/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV: instance, now_ms, lease_ms, max, full_ms. Returns { {id, kind, url, login, password, tz,
 * tag}... }; tag is "" when the last full read is older than full_ms, or later than now (a
 * clock stepped back), or when CalDAV tags have no events kept (rw:cal:ev:<id>): then the
 * calendar is read whole again. A user whose source is gone leaves the queue and its events. */
const char rw_cal_claim_lua[] =
    "local inst, now, lease, max, full = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),\n"
    "  tonumber(ARGV[5])\n"
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'rw:cal:due', '-inf', now, 'LIMIT', 0, max)) do\n"
    "  local c = redis.call('HMGET', 'rw:cal:' .. id, 'kind', 'url', 'login', 'password', 'tag', 'full_ms')\n"
    "  if not c[1] then\n"
    "    redis.call('ZREM', 'rw:cal:due', id)\n"
    "    redis.call('DEL', 'rw:cal:ev:' .. id)\n"
    "  elseif redis.call('SET', 'rw:cal:lease:' .. id, inst, 'NX', 'PX', lease) then\n"
    "    redis.call('ZADD', 'rw:cal:due', now + lease, id)\n"
    "    local tz = redis.call('HGET', 'rw:user:' .. id, 'tz') or ''\n"
    "    local tag = c[5] or ''\n"
    "    local age = now - (tonumber(c[6] or '0') or 0)\n"
    "    if age < 0 or age >= full then tag = '' end\n"
    /* a CalDAV delta needs the events kept: without them (lost, never written), read whole */
    "    if string.sub(tag, 1, 4) == 'dav1' and redis.call('EXISTS', 'rw:cal:ev:' .. id) == 0 then tag = '' end\n"
    "    out[#out + 1] = { id, c[1], c[2] or '', c[3] or '', c[4] or '', tz, tag }\n"
    "  end\n"
    "end\n"
    "return out\n";

/* ARGV: id, instance, now_ms, poll_ms, ok ("1" read, "0" failed, "2" unchanged since the last
 * full read), blocks, meetings JSON, error, count, tag, events ("full": the CalDAV events kept
 * in rw:cal:ev:<id> are replaced by the pairs that follow, "delta": changed by them, "": left),
 * then href, "etag\ndata" pairs ("" data: deleted). Events are written only with a read (ok 1).
 * Returns { "ok"|"lost", presence source ("set"|"cleared"|""), meeting ("started"|"ended"|""),
 * divert ("set"|"cleared"|"manual"|""), the meeting's block "start-end" (or ""), the current or
 * next block "start-end" (or "") }. */
const char rw_cal_apply_lua[] =
    "local id, inst, now, poll = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local ck, lk, dk = 'rw:cal:' .. id, 'rw:cal:lease:' .. id, 'rw:divert:' .. id\n"
    "if redis.call('GET', lk) ~= inst then return { 'lost', '', '', '', '', '' } end\n"
    "redis.call('DEL', lk)\n"
    "if redis.call('EXISTS', ck) == 0 then redis.call('ZREM', 'rw:cal:due', id) redis.call('DEL', 'rw:cal:ev:' .. id)\n"
    "  return { 'ok', '', '', '', '', '' } end\n"
    "if ARGV[5] == '1' then\n"
    "  redis.call('HSET', ck, 'blocks', ARGV[6], 'meetings', ARGV[7], 'count', ARGV[9],\n"
    "             'synced_ms', now, 'last_ok_ms', now, 'error', '', 'tag', ARGV[10], 'full_ms', now)\n"
    "  local ek, mode = 'rw:cal:ev:' .. id, ARGV[11] or ''\n"
    "  if mode == 'full' then redis.call('DEL', ek) end\n"
    "  if mode ~= '' then\n"
    "    for i = 12, #ARGV - 1, 2 do\n"
    "      if ARGV[i + 1] == '' then redis.call('HDEL', ek, ARGV[i]) else redis.call('HSET', ek, ARGV[i], ARGV[i + 1]) end\n"
    "    end\n"
    "  end\n"
    "elseif ARGV[5] == '2' then\n"
    "  redis.call('HSET', ck, 'synced_ms', now, 'last_ok_ms', now, 'error', '')\n"
    "else\n"
    "  redis.call('HSET', ck, 'synced_ms', now, 'error', ARGV[8], 'error_ms', now)\n"
    "end\n"
    /* the current and next busy block of the last good schedule */
    "local cur_s, cur_e, nxt_s, nxt_e\n"
    "for s, e in string.gmatch(redis.call('HGET', ck, 'blocks') or '', '(%d+)-(%d+)') do\n"
    "  s, e = tonumber(s), tonumber(e)\n"
    "  if s <= now and now < e and not cur_s then cur_s, cur_e = s, e end\n"
    "  if s > now and not nxt_s then nxt_s, nxt_e = s, e end\n"
    "end\n"
    /* set_presence: the calendar's one writer of presence, as a source of the presence merge
       (docs/presence.md "Writing a source"): the current or next block, written ahead; the
       presence service merges it (rw:presence:dirty, else its reconciliation pass) */
    "local function set_presence(s, e)\n"
    "  local sk = 'rw:presence:src:' .. id\n"
    "  local want = s and ('in_meeting ' .. e .. ' ' .. s) or false\n"
    "  local have = redis.call('HGET', sk, 'calendar')\n"
    "  if want == have then return '' end\n"
    "  if want then redis.call('HSET', sk, 'calendar', want)\n"
    "  elseif have then redis.call('HDEL', sk, 'calendar')\n"
    "  else return '' end\n"
    "  redis.call('RPUSH', 'rw:presence:dirty', id)\n"
    "  return want and 'set' or 'cleared'\n"
    "end\n"
    "local bs, be = cur_s, cur_e\n"
    "if not bs then bs, be = nxt_s, nxt_e end\n"
    "local pres = set_presence(bs, be)\n"
    /* meeting_started / meeting_ended: whether a block is in force changed since the last apply */
    "local was = redis.call('HGET', ck, 'in_meeting') or ''\n"
    "local now_in = cur_s and (cur_s .. '-' .. cur_e) or ''\n"
    "local meet, meet_block = '', ''\n"
    "if was ~= now_in then\n"
    "  if was ~= '' and now_in == '' then meet, meet_block = 'ended', was\n"
    "  elseif now_in ~= '' then meet, meet_block = 'started', now_in end\n"
    "  redis.call('HSET', ck, 'in_meeting', now_in)\n"
    "end\n"
    /* the meeting divert: the first rule (pinned, then the active profile) that diverts always
       on presence in_meeting; written ahead for the current or next block, ended by PEXPIREAT */
    "local to, ext\n"
    "local ok, st = pcall(cjson.decode, redis.call('HGET', 'rw:user:' .. id, 'settings') or '')\n"
    "if ok and type(st) == 'table' then\n"
    "  local sets = {}\n"
    "  if type(st.pinned) == 'table' then sets[#sets + 1] = st.pinned end\n"
    "  if type(st.profiles) == 'table' and type(st.active) == 'string' then sets[#sets + 1] = st.profiles[st.active] end\n"
    "  for _, set in ipairs(sets) do\n"
    "    if type(set) == 'table' then for _, r in ipairs(set) do\n"
    "      if not to and type(r) == 'table' and r.action == 'divert' and (r.on == nil or r.on == 'always')\n"
    "         and type(r.to) == 'string' and type(r.presence) == 'table' then\n"
    "        for _, s in ipairs(r.presence) do if s == 'in_meeting' then to, ext = r.to, r.ext end end\n"
    "      end\n"
    "    end end\n"
    "  end\n"
    "end\n"
    "local d = redis.call('HMGET', dk, 'source', 'start_ms', 'end_ms', 'to')\n"
    "local div = ''\n"
    "if redis.call('EXISTS', dk) == 1 and d[1] ~= 'calendar' then\n"
    "  if to and bs then div = 'manual' end\n"
    "elseif to and bs then\n"
    "  if tonumber(d[2] or '') ~= bs or tonumber(d[3] or '') ~= be or d[4] ~= to then\n"
    "    redis.call('DEL', dk)\n"
    "    redis.call('HSET', dk, 'start_ms', bs, 'end_ms', be, 'to', to, 'ext', type(ext) == 'string' and ext or '',\n"
    "               'source', 'calendar')\n"
    "    redis.call('PEXPIREAT', dk, be)\n"
    "    div = 'set'\n"
    "  end\n"
    "elseif d[1] == 'calendar' then\n"
    "  redis.call('DEL', dk)\n"
    "  div = 'cleared'\n"
    "end\n"
    /* next sync: the poll interval, or sooner at the next boundary (start or end of a block) */
    "local due = now + poll\n"
    "if cur_e and cur_e < due then due = cur_e end\n"
    "if nxt_s and nxt_s < due then due = nxt_s end\n"
    "redis.call('ZADD', 'rw:cal:due', due, id)\n"
    "return { 'ok', pres, meet, div, meet_block, bs and (bs .. '-' .. be) or '' }\n";

char *rw_cal_blocks_text(const rw_cal_meeting_t *m, size_t n)
{
    size_t cap = n * 42 + 1, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t) snprintf(s + len, cap - len, "%s%llu-%llu", i ? "," : "",
                                 (unsigned long long) m[i].start_ms, (unsigned long long) m[i].end_ms);
    return s;
}

char *rw_cal_meetings_json(const rw_cal_meeting_t *m, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:s,s:b}", "start_ms", (json_int_t) m[i].start_ms,
                                           "end_ms", (json_int_t) m[i].end_ms, "uid", m[i].uid, "summary",
                                           m[i].summary, "tentative", m[i].tentative));
    char *s = a ? json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(a);
    return s;
}
