/* web/app.js — the page's views over the gateway's JSON API (docs/gateway.md): log in with a
 * local account (the token kept in sessionStorage, so it ends with the tab), the staff view
 * (my number and the one sentence saying where a call rings now, devices, profiles, rules,
 * presence, quick divert), the wallboards of the groups a supervisor sees (wallboard.js) and
 * the admin's list of users. Every change is followed by a fresh sentence; every error shows the
 * API's own message. Plain script, no build step, nothing loaded from elsewhere. */
'use strict';

(function () {
  const API = '/api/v1';
  const TOKEN_KEY = 'ringway.token';
  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  const session = { token: sessionStorage.getItem(TOKEN_KEY), me: null };
  let teardown = null;      // closes what the current view keeps open (wallboard streams)
  let staff = null;         // the staff view's user: { id, etag, profile }
  let usersNext = null;     // the admin list's next page cursor
  let flash = null;         // a notice to show after the next route: { text, error }

  // ---- The API ---------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const PLAIN = {
    400: 'The request was not understood.',
    401: 'Your session has ended: log in again.',
    403: 'You may not see or change this.',
    404: 'Not found.',
    412: 'Changed elsewhere, reloaded.',
    413: 'That is too large to send.',
    422: 'That cannot be saved.',
    429: 'Too many attempts: wait a moment and try again.',
    503: 'The service is unavailable just now: try again in a moment.',
  };

  function authHeaders() {
    return session.token ? { Authorization: 'Bearer ' + session.token } : {};
  }

  // method, path under /api/v1, optional JSON body, optional { ifMatch }. Resolves to
  // { data, etag }; rejects with an ApiError whose message is the API's own, in plain words.
  async function api(method, path, body, opts) {
    const headers = Object.assign({ Accept: 'application/json' }, authHeaders());
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts && opts.ifMatch) headers['If-Match'] = opts.ifMatch;
    let res;
    try {
      res = await fetch(API + path, {
        method, headers, cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'unreachable', 'The server cannot be reached: check the connection and try again.');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const status = res.status;
      if (status === 401 && path !== '/login') sessionLost();
      const message = status === 412 ? PLAIN[412]
        : (err.message || PLAIN[status] || 'The server answered ' + status + '.');
      throw new ApiError(status, err.code || 'http_' + status, message);
    }
    return { data, etag: res.headers.get('ETag') };
  }

  // ---- Notices ---------------------------------------------------------------------------
  function say(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = !text;
    if (text) $('error').hidden = true;
  }
  function fail(err) {
    const e = $('error');
    e.textContent = (err && err.message) || String(err);
    e.hidden = false;
    $('notice').hidden = true;
    if (err && !(err instanceof ApiError)) console.error(err);
  }
  function clearNotices() {
    $('notice').hidden = true;
    $('error').hidden = true;
  }

  // ---- Session ---------------------------------------------------------------------------
  function roles(me) {
    const r = me && me.roles;
    const has = (name) => {
      if (Array.isArray(r)) return r.includes(name) || r.includes('ringway-' + name);
      if (typeof r === 'number') return (r & { staff: 1, supervisor: 2, admin: 4 }[name]) !== 0;
      if (r && typeof r === 'object') return !!r[name];
      return false;
    };
    return { staff: has('staff'), supervisor: has('supervisor'), admin: has('admin') };
  }
  function myGroups(me) {
    const g = (me && (me.groups || me.supervises)) || [];
    return g.map((x) => (typeof x === 'string' ? x : x.id)).filter(Boolean);
  }

  function sessionLost() {
    if (!session.token) return;
    endSession();
    flash = { text: PLAIN[401], error: true };
    if (location.hash === '#/login') route(); else location.hash = '#/login';
  }
  function endSession() {
    session.token = null;
    session.me = null;
    sessionStorage.removeItem(TOKEN_KEY);
    closeView();
    drawBar();
  }

  async function loadMe() {
    const { data } = await api('GET', '/me');
    session.me = data || {};
    drawBar();
  }

  function drawBar() {
    const me = session.me;
    const r = roles(me);
    $('nav').hidden = !me;
    $('logout').hidden = !session.token;
    $('nav-me').hidden = !(me && me.user);
    $('nav-wallboard').hidden = !(me && (r.admin || (r.supervisor && myGroups(me).length)));
    $('nav-admin').hidden = !(me && r.admin);
    $('who').textContent = me ? (me.name || me.sub || me.user || '') : '';
  }

  async function login(ev) {
    ev.preventDefault();
    const button = $('login-submit');
    button.disabled = true;
    try {
      const { data } = await api('POST', '/login', {
        username: $('login-user').value.trim(),
        password: $('login-password').value,
      });
      if (!data || !data.token) throw new ApiError(0, 'bad_answer', 'The server gave no token.');
      session.token = data.token;
      sessionStorage.setItem(TOKEN_KEY, data.token);
      $('login-password').value = '';
      await loadMe();
      clearNotices();
      if (location.hash === '' || location.hash === '#/' || location.hash === '#/login') {
        location.hash = defaultRoute();
      } else {
        route();
      }
    } catch (err) {
      fail(err);
    } finally {
      button.disabled = false;
    }
  }

  function logout() {
    endSession();
    flash = { text: 'You are logged out.', error: false };
    if (location.hash === '#/login') route(); else location.hash = '#/login';
  }

  // ---- Routing: #/me, #/user/ID, #/wallboard[/GROUP], #/admin, #/login ----------------------
  function defaultRoute() {
    const me = session.me;
    const r = roles(me);
    if (me && me.user) return '#/me';
    if (r.supervisor || r.admin) return r.supervisor && myGroups(me).length ? '#/wallboard' : '#/admin';
    return '#/me';
  }

  function closeView() {
    if (teardown) teardown();
    teardown = null;
    for (const v of document.querySelectorAll('.view')) v.hidden = true;
  }
  function show(view, navId) {
    closeView();
    $(view).hidden = false;
    for (const a of document.querySelectorAll('#nav a')) a.removeAttribute('aria-current');
    if (navId) $(navId).setAttribute('aria-current', 'page');
  }

  async function route() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    if (!session.token) {
      show('view-login');
      if (flash) {
        if (flash.error) fail(new ApiError(0, 'flash', flash.text)); else say(flash.text);
        flash = null;
      }
      $('login-user').focus();
      return;
    }
    try {
      if (!session.me) await loadMe();
      const me = session.me;
      switch (parts[0]) {
        case 'login':
        case '':
          location.hash = defaultRoute();
          return;
        case 'me':
          if (!me.user) throw new ApiError(404, 'no_user', 'Your account is not linked to a user of the directory.');
          await showStaff(me.user, true);
          return;
        case 'user':
          await showStaff(parts[1] || '', parts[1] === me.user);
          return;
        case 'wallboard':
          await showWallboard(parts[1]);
          return;
        case 'admin':
          await showAdmin();
          return;
        default:
          throw new ApiError(404, 'not_found', 'There is no such page here.');
      }
    } catch (err) {
      if (session.token) fail(err);
    }
  }

  // ---- Staff view ------------------------------------------------------------------------
  // +441632960001 -> 01632 960001; other numbers as they are.
  function nationalNumber(n) {
    if (typeof n !== 'string' || !/^\+44\d{10}$/.test(n)) return n || '';
    const d = '0' + n.slice(3);
    if (/^02/.test(d)) return d.slice(0, 3) + ' ' + d.slice(3, 7) + ' ' + d.slice(7);
    return d.slice(0, 5) + ' ' + d.slice(5);
  }

  function toMs(v) {
    if (v === undefined || v === null || v === '' || v === 0) return 0;
    if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
    const t = Date.parse(v);
    return Number.isNaN(t) ? 0 : t;
  }
  function when(v) {
    const ms = toMs(v);
    if (!ms) return '';
    return new Date(ms).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short',
                                                    hour: '2-digit', minute: '2-digit' });
  }
  // A datetime-local field's value (the browser's zone) as the API's instant: milliseconds
  // since the epoch, so no zone is ever guessed on the server.
  function instant(local) {
    if (!local) return undefined;
    const t = new Date(local).getTime();
    if (Number.isNaN(t)) throw new ApiError(400, 'bad_time', 'That time is not valid.');
    return t;
  }
  function localValue(ms) {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }

  function destination(to, devices) {
    if (!to) return 'nowhere';
    if (to === 'voicemail') return 'voicemail';
    if (to.startsWith('user:')) return to.slice(5);
    if ((devices || []).some((d) => d.id === to)) return 'the ' + to;
    return nationalNumber(to);
  }

  const DAYS = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };
  const STATES = { available: 'available', busy: 'busy', away: 'away', in_meeting: 'in a meeting',
                   dnd: 'do not disturb', offline: 'offline' };

  function describeRing(r, devices) {
    const ring = (r.ring || []).map((x) => (typeof x === 'string' ? { device: x } : x));
    const one = (x) => destination(x.device, devices) + (x.secs ? ' for ' + x.secs + ' s' : '');
    if (!ring.length) return 'ring';
    if (r.mode === 'sequential') return 'ring ' + ring.map(one).join(', then ');
    if (ring.length === 1) return 'ring ' + one(ring[0]);
    return 'ring ' + ring.map((x) => destination(x.device, devices)).join(' and ') + ' together';
  }

  // One rule in words: its conditions, then what it does.
  function describeRule(r, devices) {
    const conds = [];
    if (r.days) conds.push(r.days.replace(/[a-z]{3}/g, (d) => DAYS[d] || d).replace(/-/g, '–').replace(/,/g, ', '));
    if (r.time) conds.push(r.time.replace('-', '–'));
    if (r.presence && r.presence.length) conds.push('when ' + r.presence.map((p) => STATES[p] || p).join(' or '));
    if (r.callers && r.callers.length) conds.push('for calls from ' + r.callers.map(nationalNumber).join(', '));
    let what;
    switch (r.action) {
      case 'ring':
        what = describeRing(r, devices);
        break;
      case 'divert': {
        const to = destination(r.to, devices);
        switch (r.on) {
          case 'busy': what = 'when busy, send calls to ' + to; break;
          case 'no_answer': what = 'if not answered' + (r.after ? ' in ' + r.after + ' s' : '') + ', send calls to ' + to; break;
          case 'unreachable': what = 'when unreachable, send calls to ' + to; break;
          default: what = 'send every call to ' + to;
        }
        break;
      }
      case 'dnd':
        what = 'do not disturb: voicemail' +
          (r.except && r.except.length ? ' (except ' + r.except.map(nationalNumber).join(', ') + ')' : '');
        break;
      default:
        what = r.action || 'no action';
    }
    if (!conds.length) return what.charAt(0).toUpperCase() + what.slice(1) + '.';
    return conds.join(', ') + ': ' + what + '.';
  }

  function settingsOf(data) {
    const s = (data && (data.settings || data.rules)) || data || {};
    return { active: s.active || '', pinned: s.pinned || [], profiles: s.profiles || {} };
  }
  function sentenceOf(data) {
    if (!data) return '';
    if (typeof data === 'string') return data;
    return data.sentence || data.text || data.summary || '';
  }
  function devicesOf(user) {
    const d = (user && user.devices) || [];
    if (Array.isArray(d)) return d;
    return Object.keys(d).map((id) => Object.assign({ id }, typeof d[id] === 'object' ? d[id] : { kind: d[id] }));
  }

  function drawNumber(user, self) {
    const number = nationalNumber(user.number);
    const ext = user.ext || user.extension;
    const who = self ? 'Your number' : (user.name || user.id) + "'s number";
    let line = number ? who + ' ' + number : (self ? 'Your extension' : who);
    if (ext) line += number ? ' (ext ' + ext + ')' : ' ' + ext;
    $('number-line').textContent = line + '.';
  }

  function drawDevices(devices) {
    const ul = $('devices');
    ul.replaceChildren();
    if (!devices.length) {
      const li = document.createElement('li');
      li.className = 'dim';
      li.textContent = 'No devices.';
      ul.append(li);
    }
    for (const d of devices) {
      const li = document.createElement('li');
      li.dataset.device = d.id;
      const name = document.createElement('b');
      name.textContent = d.id;
      li.append(name, ' ');
      const kind = d.kind === 'number' ? nationalNumber(d.address) : d.kind === 'sip' ? 'SIP phone' : d.kind || '';
      if (kind) li.append(kind + ' ');
      if (d.kind === 'sip' || d.registered !== undefined) {
        const badge = document.createElement('span');
        const on = !!(d.registered || (d.bindings && d.bindings.length));
        badge.className = 'badge ' + (on ? 'ok' : 'off');
        badge.textContent = on ? 'registered' : 'not registered';
        li.append(badge);
      }
      ul.append(li);
    }
  }

  // One toggle button per profile (aria-pressed on the one in use): a press switches at once,
  // and moving through them with the keyboard switches nothing.
  function drawProfiles(settings) {
    const box = $('profiles');
    box.replaceChildren();
    for (const name of Object.keys(settings.profiles)) {
      const button = document.createElement('button');
      button.type = 'button';
      button.id = 'profile-' + name;
      button.dataset.profile = name;
      button.className = 'profile';
      button.setAttribute('aria-pressed', String(name === settings.active));
      button.textContent = name;
      box.append(button);
    }
    if (!box.children.length) box.textContent = 'No profiles.';
  }

  function ruleList(rules, devices) {
    const ul = document.createElement('ul');
    ul.className = 'list';
    for (const r of rules) {
      const li = document.createElement('li');
      li.className = 'rule';
      const b = document.createElement('b');
      b.textContent = r.name || 'rule';
      li.append(b, ' — ' + describeRule(r, devices));
      ul.append(li);
    }
    return ul;
  }

  function drawRules(settings, devices) {
    const box = $('rules');
    box.replaceChildren();
    if (settings.pinned.length) {
      const h = document.createElement('h3');
      h.textContent = 'Always first (pinned)';
      box.append(h, ruleList(settings.pinned, devices));
    }
    const active = settings.profiles[settings.active] || [];
    const h = document.createElement('h3');
    h.textContent = settings.active ? 'Profile ' + settings.active + ' (in use)' : 'No profile in use';
    box.append(h, active.length ? ruleList(active, devices) : document.createTextNode('No rules: every device rings.'));
    for (const name of Object.keys(settings.profiles)) {
      if (name === settings.active) continue;
      const d = document.createElement('details');
      const s = document.createElement('summary');
      s.textContent = 'Profile ' + name;
      d.append(s, ruleList(settings.profiles[name], devices));
      box.append(d);
    }
    const p = document.createElement('p');
    p.className = 'help';
    p.textContent = 'Rules are tried in order; the first that fits the call decides.';
    box.append(p);
  }

  function drawPresence(p) {
    const state = p && (typeof p === 'string' ? p : p.state);
    const src = p && p.source;
    const until = p && (p.until_ms || p.until);
    let text = state ? 'Now ' + (STATES[state] || state) : 'No presence known';
    if (src) text += ' (from ' + (src === 'manual' ? 'your setting' : src) + ')';
    if (toMs(until)) text += ' until ' + when(until);
    $('presence-now').textContent = text + '.';
  }

  // d: {to, start_ms, end_ms, state: "in force" | "later" | "over" | "none"}
  function drawDivert(d, devices) {
    const to = d && d.to;
    const state = (d && d.state) || (to ? 'in force' : 'none');
    const end = d && (d.end_ms || d.until);
    let text = 'No divert.';
    if (to && state === 'in force') {
      text = 'Diverted to ' + destination(to, devices) + (toMs(end) ? ' until ' + when(end) : '') + '.';
    } else if (to && state === 'later') {
      text = 'Diverts to ' + destination(to, devices) + ' from ' + when(d.start_ms) +
        (toMs(end) ? ' until ' + when(end) : '') + '.';
    }
    $('divert-now').textContent = text;
    $('divert-clear').disabled = !to || state === 'over';
    if (!$('divert-until').value) $('divert-until').value = localValue(Date.now() + 3600000);
  }

  // A caller as the call event names them: a number, an extension or a SIP URI's user part.
  function caller(from) {
    const f = String(from || '').replace(/^(sips?|tel):/, '').replace(/@.*$/, '');
    if (!f || f === 'anonymous') return 'a withheld number';
    return nationalNumber(f);
  }
  function duration(ms) {
    const s = Math.round((ms || 0) / 1000);
    return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  }

  // GET /users/{id}/calls: newest first, {call_id, from, to, outcome, target, cause, reason,
  // talk_ms, ts_ms}; null when they could not be read.
  function drawCalls(items) {
    const ul = $('calls');
    ul.replaceChildren();
    const line = (text, cls) => {
      const li = document.createElement('li');
      if (cls) li.className = cls;
      li.textContent = text;
      ul.append(li);
      return li;
    };
    if (!items) {
      line('Recent calls cannot be read just now.', 'dim');
      return;
    }
    if (!items.length) line('No calls yet.', 'dim');
    for (const c of items) {
      const answered = c.outcome === 'answered';
      let text = (answered ? 'Answered call from ' : 'Missed call from ') + caller(c.from);
      if (when(c.ts_ms)) text += ', ' + when(c.ts_ms);
      if (answered && c.talk_ms) text += ', ' + duration(c.talk_ms);
      if (!answered && c.reason) text += ' (' + c.reason + ')';
      line(text + '.').dataset.call = c.call_id || '';
    }
  }

  async function showStaff(id, self) {
    show('view-staff', self ? 'nav-me' : null);
    staff = { id, self, etag: null, profile: '' };
    $('staff-title').textContent = self ? 'Where your calls ring' : 'Where ' + id + "'s calls ring";
    $('sentence').textContent = 'Loading…';
    await refreshStaff();
  }

  // Reads the user, their settings and the sentence again and redraws; each part on its own,
  // so one that fails leaves the others drawn and says why.
  async function refreshStaff() {
    if (!staff) return;
    const base = '/users/' + enc(staff.id);
    const [user, settings, explain] = await Promise.allSettled([
      api('GET', base), api('GET', base + '/settings'), api('GET', base + '/explain'),
    ]);
    let devices = [];
    if (user.status === 'fulfilled') {
      const u = user.value.data || {};
      devices = devicesOf(u);
      drawNumber(u, staff.self);
      drawDevices(devices);
      drawPresence(u.presence);
      drawDivert(u.divert, devices);
    }
    if (settings.status === 'fulfilled') {
      const s = settingsOf(settings.value.data);
      staff.etag = settings.value.etag;
      staff.profile = s.active;
      drawProfiles(s);
      drawRules(s, devices);
    }
    if (explain.status === 'fulfilled') {
      $('sentence').textContent = sentenceOf(explain.value.data) || 'No explanation was given.';
    } else {
      $('sentence').textContent = 'Where a call rings cannot be said just now.';
    }
    // the history is not a setting: a failure to read it is shown in its list, nothing more
    api('GET', base + '/calls?limit=10').then((r) => drawCalls((r.data && r.data.items) || []),
                                               () => drawCalls(null));
    const failed = [user, settings, explain].find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  // Runs one change, says so, and redraws the view (the sentence included). A 412 reloads.
  async function change(what, doneText) {
    clearNotices();
    try {
      await what();
      await refreshStaff();
      say(doneText);
    } catch (err) {
      fail(err);
      if (err.status === 412 || err.status === 422 || err.status === 409) {
        try { await refreshStaff(); } catch (e) { fail(e); }
      }
    }
  }

  function switchProfile(ev) {
    const button = ev.target.closest('button[data-profile]');
    const name = button && button.dataset.profile;
    if (!name || !staff || name === staff.profile) return;
    change(() => api('PUT', '/users/' + enc(staff.id) + '/profile', { profile: name },
                     { ifMatch: staff.etag }),
           'Profile ' + name + ' is in use.');
  }

  function setPresence(ev) {
    ev.preventDefault();
    const body = { state: $('presence-state').value };
    change(async () => {
      const until = instant($('presence-until').value);
      if (until) body.until = until;
      await api('PUT', '/users/' + enc(staff.id) + '/presence', body);
    }, 'Presence set to ' + (STATES[body.state] || body.state) + '.');
  }
  function clearPresence() {
    change(() => api('DELETE', '/users/' + enc(staff.id) + '/presence'), 'Presence cleared.');
  }
  function setDivert(ev) {
    ev.preventDefault();
    const to = $('divert-to').value.trim();
    change(async () => {
      await api('PUT', '/users/' + enc(staff.id) + '/divert',
                { to, until: instant($('divert-until').value) });
      $('divert-to').value = '';
    }, 'Calls go to ' + to + ' until the time you chose.');
  }
  function clearDivert() {
    change(() => api('DELETE', '/users/' + enc(staff.id) + '/divert'), 'Divert cleared.');
  }

  // ---- Wallboard (wallboard.js draws it) -------------------------------------------------------
  async function showWallboard(one) {
    show('view-wallboard', 'nav-wallboard');
    let groups = one ? [one] : myGroups(session.me);
    if (!one && roles(session.me).admin && !groups.length) {
      const { data } = await api('GET', '/groups?limit=20');
      groups = ((data && data.items) || []).map((g) => (typeof g === 'string' ? g : g.id));
    }
    if (!groups.length) {
      $('boards').textContent = 'You supervise no hunt group.';
      return;
    }
    teardown = window.RingwayWallboard.mount($('boards'), groups, {
      api, authHeaders, base: API, onAuthLost: sessionLost,
    });
  }

  // ---- Admin: users --------------------------------------------------------------------------
  async function loadUsers(cursor) {
    const { data } = await api('GET', '/users?limit=50' + (cursor ? '&cursor=' + enc(cursor) : ''));
    const ul = $('users');
    for (const u of (data && data.items) || []) {
      const user = typeof u === 'string' ? { id: u } : u;
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '#/user/' + enc(user.id);
      a.textContent = user.name ? user.name + ' (' + user.id + ')' : user.id;
      li.append(a);
      const ext = user.ext || user.extension;
      if (ext || user.number) li.append(' ' + [ext, nationalNumber(user.number)].filter(Boolean).join(' · '));
      ul.append(li);
    }
    usersNext = (data && data.next) || null;
    $('users-more').hidden = !usersNext;
  }
  async function showAdmin() {
    show('view-admin', 'nav-admin');
    $('users').replaceChildren();
    await loadUsers(null);
  }

  // ---- Wiring ----------------------------------------------------------------------------
  function start() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('profiles').addEventListener('click', switchProfile);
    $('presence-form').addEventListener('submit', setPresence);
    $('presence-clear').addEventListener('click', clearPresence);
    $('divert-form').addEventListener('submit', setDivert);
    $('divert-clear').addEventListener('click', clearDivert);
    $('users-more').addEventListener('click', () => loadUsers(usersNext).catch(fail));
    window.addEventListener('hashchange', () => { clearNotices(); route(); });
    drawBar();
    route();
  }
  start();
})();
