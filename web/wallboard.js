/* web/wallboard.js — a live wallboard per hunt group: waiting callers, longest wait, SL %,
 * agents by state. Each board reads GET /api/v1/groups/{id}/events, the gateway's server-sent
 * events, with fetch() and the page's Authorization header (EventSource cannot send one, and a
 * token in a URL would end up in logs), draws every snapshot a message carries, and reconnects
 * by itself (1 s, doubling to 5 s) when the stream ends: a gateway restarted, a network that
 * dropped, or 40 s of silence (the gateway sends a keepalive comment every 15 s). */
'use strict';

window.RingwayWallboard = (function () {
  const enc = encodeURIComponent;
  const SILENCE_MS = 40000;
  const REREAD_MS = 3000;
  const STATE_NAMES = { available: 'available', offered: 'ringing', on_call: 'on a call', busy: 'on a call',
                        wrap_up: 'wrap-up', paused: 'paused', logged_out: 'logged out' };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    e.append(...children);
    return e;
  }

  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = (n) => String(n).padStart(2, '0');
    return h ? h + ':' + two(m) + ':' + two(sec) : m + ':' + two(sec);
  }

  // The figures of a snapshot, whatever optional parts it leaves out.
  function figures(snap) {
    const callers = snap.callers || snap.queue || [];
    const waiting = Number.isFinite(snap.waiting) ? snap.waiting : callers.length;
    let longest = snap.longest_wait_ms;
    if (!Number.isFinite(longest)) longest = Number.isFinite(snap.longest_wait_s) ? snap.longest_wait_s * 1000 : 0;
    let sl = snap.sl_pct_answered;
    if (!Number.isFinite(sl)) sl = Number.isFinite(snap.sl_pct) ? snap.sl_pct : null;
    const answered = snap.answered, abandoned = snap.abandoned;
    if (Number.isFinite(answered) && answered === 0) sl = null;   // nothing answered yet: no figure
    let byState = snap.agents_by_state;
    let agents = snap.agents || {};
    if (Array.isArray(agents)) {
      const o = {};
      for (const a of agents) o[a.user || a.id] = a.state;
      agents = o;
    }
    if (!byState) {
      byState = {};
      for (const st of Object.values(agents)) byState[st] = (byState[st] || 0) + 1;
    }
    return { waiting, longest, sl, answered, abandoned, byState, agents, callers };
  }

  // One board: its DOM, its stream, its reconnection.
  function board(container, group, ctx) {
    const id = (k) => 'wb-' + group + '-' + k;
    const link = el('span', { class: 'link down', id: id('link'), 'data-state': 'connecting' }, 'connecting…');
    const fig = (k, label) => el('div', { id: id(k + '-box') }, el('dt', {}, label), el('dd', { id: id(k) }, '–'));
    const agentsList = el('ul', { class: 'agents', id: id('agents'), 'aria-label': 'Agents by state' });
    const callersList = el('ol', { class: 'callers', id: id('callers'), 'aria-label': 'Callers waiting, first first' });
    const updated = el('p', { class: 'help', id: id('updated') });
    const section = el('section', { class: 'card board', id: 'board-' + group, 'data-group': group,
                                    'aria-labelledby': id('title') },
      el('h2', {}, el('span', { id: id('title') }, 'Group ' + group), link),
      el('dl', { class: 'figures' }, fig('waiting', 'Waiting'), fig('longest', 'Longest wait'),
         fig('sl', 'Service level'), fig('available', 'Agents free')),
      callersList, agentsList, updated);
    container.append(section);

    let closed = false, ctrl = null, timer = null, watchdog = null, reread = null, delay = 1000;
    let last = null, lastAt = 0, seq = 0;

    function setLink(state, text) {
      link.dataset.state = state;
      link.className = 'link ' + (state === 'live' ? 'live' : 'down');
      link.textContent = text;
    }

    function draw(snap) {
      if (!snap || typeof snap !== 'object') return;
      seq++;
      last = figures(snap);
      lastAt = Date.now();
      if (snap.name) document.getElementById(id('title')).textContent = snap.name + ' (' + group + ')';
      document.getElementById(id('waiting')).textContent = String(last.waiting);
      document.getElementById(id('waiting-box')).className = last.waiting > 0 ? 'alert' : '';
      document.getElementById(id('sl')).textContent = last.sl === null ? '–' : last.sl.toFixed(0) + ' %';
      document.getElementById(id('available')).textContent = String(last.byState.available || 0);
      agentsList.replaceChildren();
      for (const [st, n] of Object.entries(last.byState)) {
        const names = Object.keys(last.agents).filter((a) => last.agents[a] === st);
        agentsList.append(el('li', { 'data-state': st },
          (STATE_NAMES[st] || st) + ' ' + n + (names.length ? ': ' + names.join(', ') : '')));
      }
      if (!agentsList.children.length) agentsList.append(el('li', {}, 'No agents.'));
      tick();
    }

    // The callers waiting, in queue order, each with the wait it had at the last message plus
    // the time since.
    function drawCallers(since) {
      callersList.replaceChildren();
      for (const c of last.callers.slice(0, 10)) {
        const wait = Number.isFinite(c.wait_ms) ? c.wait_ms + since : null;
        callersList.append(el('li', {}, (c.caller || 'withheld') + (wait === null ? '' : ' ' + duration(wait))));
      }
      if (last.callers.length > 10) callersList.append(el('li', {}, 'and ' + (last.callers.length - 10) + ' more'));
    }

    // The longest wait goes on counting between messages while someone waits.
    function tick() {
      if (!last) return;
      const since = Date.now() - lastAt;
      const longest = last.waiting > 0 ? last.longest + since : 0;
      document.getElementById(id('longest')).textContent = duration(longest);
      drawCallers(since);
      updated.textContent = 'Updated ' + new Date(lastAt).toLocaleTimeString();
    }

    async function snapshot() {
      const before = seq;
      try {
        const { data } = await ctx.api('GET', '/groups/' + enc(group) + '/live');
        if (seq === before && !closed) draw(data && (data.live || data.snapshot || data));
      } catch (err) {
        if (!closed) updated.textContent = err.message;
      }
    }

    // One server-sent event: its data is the group's snapshot (or an event naming it).
    function dispatch(block) {
      const data = [];
      for (const line of block.split(/\r\n|\r|\n/)) {
        if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) return;
      let msg;
      try { msg = JSON.parse(data.join('\n')); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      if (msg.group && msg.group !== group) return;
      if (msg.error) {                     // the gateway could not read the board this time
        updated.textContent = msg.error;
        return;
      }
      const snap = msg.live || msg.snapshot || msg;
      if ('waiting' in snap || 'agents' in snap || 'callers' in snap) draw(snap);
      else snapshot();      // an event without the figures: read them
    }

    function armWatchdog() {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => { if (ctrl) ctrl.abort(); }, SILENCE_MS);
    }

    async function connect() {
      if (closed) return;
      ctrl = new AbortController();
      let fatal = false;
      try {
        const res = await fetch(ctx.base + '/groups/' + enc(group) + '/events', {
          headers: Object.assign({ Accept: 'text/event-stream' }, ctx.authHeaders()),
          cache: 'no-store', signal: ctrl.signal,
        });
        if (res.status === 401) { ctx.onAuthLost(); return; }
        if (!res.ok || !res.body) {
          let message = 'The server answered ' + res.status + '.';
          try { message = (await res.json()).error.message || message; } catch (e) { /* not JSON */ }
          fatal = res.status === 403 || res.status === 404;
          throw new Error(message);
        }
        setLink('live', 'live');
        delay = 1000;
        armWatchdog();
        snapshot();
        // A gateway that has just started answers before it follows the bus: read the figures
        // once more a moment later, so nothing that happened in between stays unseen.
        clearTimeout(reread);
        reread = setTimeout(snapshot, REREAD_MS);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          armWatchdog();
          buf += decoder.decode(value, { stream: true });
          let m;
          while ((m = /\r\n\r\n|\n\n|\r\r/.exec(buf))) {
            dispatch(buf.slice(0, m.index));
            buf = buf.slice(m.index + m[0].length);
          }
        }
      } catch (err) {
        if (closed) return;
        if (fatal) {
          setLink('error', err.message);
          return;
        }
        console.info('wallboard ' + group + ': stream ended (' + (err.message || err) + '), reconnecting');
      } finally {
        clearTimeout(watchdog);
      }
      if (closed) return;
      setLink('down', 'reconnecting…');
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    }

    connect();
    return {
      tick,
      close() {
        closed = true;
        clearTimeout(timer);
        clearTimeout(watchdog);
        clearTimeout(reread);
        if (ctrl) ctrl.abort();
      },
    };
  }

  // Draws a board per group into container; returns the function that closes them all.
  function mount(container, groups, ctx) {
    container.replaceChildren();
    const boards = groups.map((g) => board(container, g, ctx));
    const ticker = setInterval(() => boards.forEach((b) => b.tick()), 1000);
    return () => {
      clearInterval(ticker);
      boards.forEach((b) => b.close());
      container.replaceChildren();
    };
  }

  return { mount };
})();
