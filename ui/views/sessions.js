// Sessions: the tenant's sessions, search (name, email, IP, session id),
// status filter, sortable columns, total count, paging, auto-refresh,
// revoke one, revoke selected, revoke exactly what the screen matches.

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, debounce, fieldError } from '../dom.js';
import {
  timeEl, exact, deviceOf, placeOf, count, compact, plural, shortId,
  errorBanner, loadingRow, emptyRow, unreachable,
} from '../format.js';

const REASONS = {
  user_logout: 'signed out',
  admin_revoked: 'revoked by an admin',
  user_sessions_revoked: 'all sessions ended by an admin',
  refresh_token_reuse: 'refresh token reuse',
  password_changed: 'password changed',
  user_disabled: 'user disabled',
  grant_expired: 'support grant expired',
  grant_revoked: 'support grant revoked',
  bulk_revoked: 'bulk revocation',
  user_revoked_other: 'signed out from another device',
  session_limit: 'ended by the session limit',
  session_limit_reached: 'session limit reached',
};

export function reasonLabel(r) {
  return REASONS[r] || (r ? r.replace(/_/g, ' ') : '');
}

/** Is `r` one of the server's reason codes (not text an admin typed)? */
export function isReasonCode(r) {
  return !!r && Object.prototype.hasOwnProperty.call(REASONS, r);
}

export function statusPill(s) {
  const cls = s.status === 'active' ? 'pill-ok' : s.status === 'revoked' ? 'pill-bad' : 'pill-muted';
  const label = s.status === 'active' ? 'Active' : s.status === 'revoked' ? 'Revoked' : 'Expired';
  const pill = h('span', { class: `pill ${cls}` }, label);
  if (s.status === 'revoked') {
    return h('span', { class: 'status-cell', title: s.revoked_at ? `Revoked ${exact(s.revoked_at)}${s.revoke_note ? `: ${s.revoke_note}` : ''}` : null },
      pill, h('span', { class: 'status-reason' }, reasonLabel(s.revoked_reason)));
  }
  if (s.status === 'expired') return h('span', { class: 'status-cell', title: 'Idle or absolute timeout reached' }, pill);
  return h('span', { class: 'status-cell', title: s.expires_at ? `Ends ${exact(s.expires_at)} unless used` : null }, pill);
}

function describe(s) {
  const who = (s.user && (s.user.display_name || s.user.email)) || 'unknown user';
  return `${who}, ${deviceOf(s).label}, ${s.ip || 'unknown IP'}, session ${String(s.id).slice(0, 8)}`;
}

/** Ask for a reason, showing the dry-run count; resolves to the reason or null. */
async function confirmBulk(title, n, detail) {
  const reason = h('textarea', { rows: 3, maxlength: 500, placeholder: 'e.g. incident INC-1234: suspected credential theft' });
  reason.addEventListener('input', () => { if (reason.value.trim()) fieldError(reason, ''); });
  const values = await dialog({
    title,
    body: [
      h('p', { class: 'dialog-count', id: 'bulk-count' }, h('strong', null, count(n)), n === 1 ? ' active session will be revoked.' : ' active sessions will be revoked.'),
      h('p', null, detail),
      h('p', { class: 'muted' }, 'Each user is signed out on their next request. This cannot be undone; the reason is recorded in the audit log.'),
    ],
    fields: [dialogField('reason', 'Reason (required)', reason)],
    confirm: n === 1 ? 'Revoke 1 session' : `Revoke ${count(n)} sessions`,
    danger: true,
    validate: (v) => (v.reason.trim() ? {} : { reason: 'Say why: it goes into the audit log.' }),
  });
  return values ? values.reason.trim() : null;
}

// Column → [server sort prefix, direction taken on the first click].
const SORTS = {
  user: ['user', 'asc', 'User'],
  ip: ['ip', 'asc', 'IP address'],
  created: ['created', 'desc', 'Created'],
  last_activity: ['last_activity', 'desc', 'Last activity'],
  expires: ['expires', 'asc', 'Expires'],
};

/** "user", "IP address", "last activity": a column's name inside a sentence. */
function inWords(key) {
  const label = SORTS[key][2];
  return label.startsWith('IP') ? label : label.toLowerCase();
}

/** The most session ids one bulk request carries. */
const CHUNK = 10000;
/** Refuse to collect more than this many matching sessions in the browser. */
const COLLECT_MAX = 200000;

/**
 * A sessions table with its toolbar. opts: {tenant, userId?}
 * Returns a cleanup function.
 */
export function sessionsPanel(container, opts) {
  const tenant = opts.tenant;
  const state = {
    q: '',
    status: opts.userId ? 'all' : 'active',
    sort: 'last_activity_desc',
    goodSort: 'last_activity_desc',
    items: [],
    cursor: null,
    total: null, // {n, exact}
    selected: new Set(),
    recentlyRevoked: new Map(),
    auto: true,
    loading: false,
    loaded: false,
    loadedAt: null,
    error: null,
    busy: false,
  };
  let timer = null;
  let seq = 0;

  const search = h('input', {
    type: 'search', id: 'sessions-search', placeholder: 'Name, email, IP or session id',
    'aria-label': 'Search sessions by user name, email, IP address or session id prefix', autocomplete: 'off',
  });
  const status = h('select', { id: 'sessions-status', 'aria-label': 'Status' },
    h('option', { value: 'active' }, 'Active'),
    h('option', { value: 'revoked' }, 'Revoked'),
    h('option', { value: 'all' }, 'All statuses'));
  status.value = state.status;
  const auto = h('input', { type: 'checkbox', id: 'sessions-auto', checked: true });
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'sessions-refresh' }, 'Refresh');
  const revokeSelected = h('button', { type: 'button', class: 'btn btn-danger', id: 'revoke-selected', disabled: true }, 'Revoke selected');
  const revokeAll = opts.userId ? null : h('button', { type: 'button', class: 'btn btn-danger-outline', id: 'revoke-all-except-mine' }, 'Revoke all except mine');
  const total = h('p', { class: 'table-count', id: 'sessions-total', 'aria-live': 'polite' });
  const summary = h('p', { class: 'table-summary muted', id: 'sessions-summary', 'aria-live': 'polite' });
  const selectAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select all active sessions shown' });
  const tbody = h('tbody', { id: 'sessions-body' });
  const more = h('button', { type: 'button', class: 'btn', id: 'sessions-more', hidden: true }, 'Load more');
  const errorBox = h('div', { id: 'sessions-error', hidden: true });

  const toolbar = h('div', { class: 'toolbar toolbar-sessions', id: 'sessions-toolbar' },
    h('div', { class: 'toolbar-group grow' }, search, status),
    h('div', { class: 'toolbar-group' },
      h('label', { class: 'check', for: 'sessions-auto' }, auto, 'Auto-refresh'),
      refreshBtn),
    h('div', { class: 'toolbar-group' }, revokeSelected, revokeAll));

  const sortButtons = {};
  function sortHeader(key) {
    const [, , label] = SORTS[key];
    const b = h('button', { type: 'button', class: 'sort-btn', dataset: { sort: key } }, label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }));
    b.addEventListener('click', () => {
      const [prefix, first] = SORTS[key];
      const cur = state.sort.startsWith(prefix + '_') ? state.sort.slice(prefix.length + 1) : null;
      const dir = cur ? (cur === 'asc' ? 'desc' : 'asc') : first;
      state.sort = `${prefix}_${dir}`;
      paintSort();
      load();
    });
    const th = h('th', { scope: 'col', class: 'th-sort' }, b);
    sortButtons[key] = { b, th };
    return th;
  }
  function paintSort() {
    for (const [key, { b, th }] of Object.entries(sortButtons)) {
      const prefix = SORTS[key][0];
      const on = state.sort.startsWith(prefix + '_');
      const dir = on ? state.sort.slice(prefix.length + 1) : null;
      if (on) th.setAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
      b.querySelector('.sort-mark').textContent = on ? (dir === 'asc' ? ' ▲' : ' ▼') : '';
      b.title = on ? `Sorted ${dir === 'asc' ? 'ascending' : 'descending'}; press to reverse` : `Sort by ${inWords(key)}`;
    }
  }

  const COLS = 10;
  const table = h('table', { class: 'table table-sessions', id: 'sessions-table' },
    h('caption', { class: 'sr-only' }, opts.userId ? 'Sessions of this user' : 'Sessions of this organization. Column headers sort; arrow keys move between rows.'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'col-check' }, selectAll),
      sortHeader('user'),
      h('th', { scope: 'col' }, 'Device'),
      sortHeader('ip'),
      h('th', { scope: 'col' }, 'Session'),
      sortHeader('created'),
      sortHeader('last_activity'),
      sortHeader('expires'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tbody);
  paintSort();
  const wrap = h('div', { class: 'table-wrap' }, table);
  const foot = h('div', { class: 'table-foot' }, summary, more);

  container.append(toolbar, errorBox, total, wrap, foot);

  function query(cursor, limit) {
    return {
      status: state.status,
      sort: state.sort,
      q: state.q || undefined,
      user_id: opts.userId,
      cursor: cursor || undefined,
      limit: limit || 50,
    };
  }

  async function load({ append = false, keep = false } = {}) {
    const mine = ++seq;
    state.loading = true;
    container.setAttribute('aria-busy', 'true');
    if (!append && !keep) {
      state.fresh = true;
      render();
    }
    try {
      const limit = keep ? Math.min(200, Math.max(50, state.items.length)) : 50;
      const page = await api.get(api.t(tenant, '/sessions'), query(append ? state.cursor : null, limit));
      if (mine !== seq) return;
      if (append) {
        const have = new Set(state.items.map((s) => s.id));
        state.items = state.items.concat(page.items.filter((s) => !have.has(s.id)));
      } else if (keep) {
        const fresh = page.items.slice();
        const ids = new Set(fresh.map((s) => s.id));
        state.items.forEach((old, i) => {
          const r = state.recentlyRevoked.get(old.id);
          if (!ids.has(old.id) && r && Date.now() - r.at < 120000) fresh.splice(Math.min(i, fresh.length), 0, r.item);
        });
        state.items = fresh;
      } else {
        state.items = page.items;
      }
      if (typeof page.total === 'number') state.total = { n: page.total, exact: true };
      else if (typeof page.total_estimate === 'number') state.total = { n: page.total_estimate, exact: false };
      else if (!append) state.total = null;
      state.cursor = page.next_cursor;
      state.loadedAt = new Date();
      state.loaded = true;
      state.error = null;
      state.goodSort = state.sort;
      const live = new Set(state.items.filter((s) => s.status === 'active').map((s) => s.id));
      for (const id of Array.from(state.selected)) if (!live.has(id)) state.selected.delete(id);
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 401) return;
      state.error = e;
      state.refusedSort = null;
      if (e.status === 400 && state.sort !== state.goodSort) {
        state.refusedSort = Object.keys(SORTS).find((k) => state.sort.startsWith(SORTS[k][0] + '_')) || null;
        // The server would not sort this way (too many matches): keep the
        // table in the order it really has and say why.
        state.sort = state.goodSort;
        paintSort();
      } else if (e.status === 400) {
        state.items = [];
        state.cursor = null;
        state.total = null;
        state.loaded = false;
      }
    } finally {
      if (mine === seq) {
        state.loading = false;
        state.fresh = false;
        container.removeAttribute('aria-busy');
        render();
      }
    }
  }

  function noun(n) {
    const word = state.status === 'active' ? 'active session' : state.status === 'revoked' ? 'revoked session' : 'session';
    return n === 1 ? word : `${word}s`;
  }

  function render() {
    // Keep keyboard focus on the same control of the same row across re-renders.
    const active = document.activeElement;
    let focusKey = null;
    if (active && tbody.contains(active)) {
      const row = active.closest('tr');
      focusKey = { id: row && row.dataset.sessionId, role: active.dataset.role };
    }
    const e = state.error;
    const down = !!e && unreachable(e);
    const stale = down && state.items.length > 0 && !!state.loadedAt;
    const refusedSort = e && e.status === 400 && e.details && e.details.sort && state.refusedSort;
    errorBanner(errorBox, e, 'the sessions', () => load(), stale ? `The rows below are from ${state.loadedAt.toLocaleTimeString()} and may be out of date.` : '',
      refusedSort ? `Cannot sort by ${inWords(state.refusedSort)}` : undefined);
    // Error without anything truthful to show: no table at all. (A refused
    // sort keeps the rows: they are current, in the order they had.)
    const showTable = !e || stale || (!down && state.items.length > 0);
    wrap.hidden = !showTable;
    foot.hidden = !showTable;
    wrap.classList.toggle('is-stale', !!stale);
    wrap.classList.toggle('is-loading', !!(state.loading && state.fresh && state.loaded));

    if (state.total && !down && state.total.n > 0) {
      const t = state.total;
      total.textContent = t.exact ? `${count(t.n)} ${noun(t.n)}${state.q ? ' match' : ''}` : `about ${compact(t.n)} ${noun(t.n)}${state.q ? ' match' : ''}`;
      total.title = t.exact ? '' : `An estimate (${count(t.n)}): counting exactly would be slow.`;
      total.hidden = false;
    } else {
      total.textContent = '';
      total.hidden = true;
    }

    clear(tbody);
    if (!state.loaded && !e) {
      tbody.append(loadingRow(COLS, 'Loading sessions…'));
    } else if (!state.items.length && state.loaded) {
      tbody.append(emptyRow(COLS,
        state.q ? `No sessions match “${state.q}”.` : state.status === 'active' ? 'No active sessions.' : state.status === 'revoked' ? 'No revoked sessions.' : 'No sessions.',
        state.q ? 'The search matches a name, an email, the start of an IP address, or the first characters of a session id.' : null));
    }
    for (const s of state.items) tbody.append(row(s));
    const n = state.items.length;
    const stamp = state.loadedAt ? ` · updated ${state.loadedAt.toLocaleTimeString()}` : '';
    summary.textContent = `${n} ${n === 1 ? 'session' : 'sessions'} shown${state.cursor ? ' (more available)' : ''}${stamp}`;
    more.hidden = !state.cursor;
    const selectable = state.items.filter((s) => s.status === 'active' && !s.current);
    selectAll.checked = selectable.length > 0 && selectable.every((s) => state.selected.has(s.id));
    selectAll.indeterminate = !selectAll.checked && selectable.some((s) => state.selected.has(s.id));
    selectAll.disabled = selectable.length === 0;
    const k = state.selected.size;
    revokeSelected.disabled = k === 0 || state.busy;
    revokeSelected.textContent = k ? `Revoke selected (${k})` : 'Revoke selected';
    if (revokeAll && !state.busy) {
      revokeAll.textContent = state.q ? 'Revoke matching' : 'Revoke all except mine';
      revokeAll.title = state.q ? `Revoke every active session matching “${state.q}” (except yours)` : 'Revoke every active session of this organization except yours';
    }
    if (focusKey && focusKey.id) {
      const r = tbody.querySelector(`tr[data-session-id="${CSS.escape(focusKey.id)}"]`);
      const target = r && (r.querySelector(`[data-role="${focusKey.role}"]:not([disabled])`) || r.querySelector('input:not([disabled]),button,a'));
      if (target) target.focus();
    }
  }

  function row(s) {
    const ua = deviceOf(s);
    const name = (s.user && s.user.display_name) || (s.user && s.user.email) || 'Unknown user';
    const check = h('input', {
      type: 'checkbox', 'aria-label': `Select session: ${describe(s)}`, dataset: { role: 'select' },
      checked: state.selected.has(s.id), disabled: s.status !== 'active' || s.current,
      title: s.current ? 'Your own session (use Sign out instead)' : null,
    });
    check.addEventListener('change', () => {
      if (check.checked) state.selected.add(s.id); else state.selected.delete(s.id);
      render();
    });
    // A support session's user is a global admin, not a user of this organization.
    const userLink = s.user && !opts.userId && !s.support
      ? h('a', {
        href: `/users/${s.user.id}`, 'data-nav': '', dataset: { role: 'user' }, class: 'user-name',
        title: `Open ${name}: every session, the audit trail, End all sessions`,
      }, name)
      : h('span', { class: 'user-name' }, name);
    const userCell = h('td', { class: 'cell-user', 'data-label': 'User' },
      h('div', { class: 'user-line' },
        userLink,
        s.current ? h('span', { class: 'badge badge-you', title: 'The session you are using now' }, 'You') : null,
        s.support ? h('span', { class: 'badge badge-support', title: `Support session of ${s.support.admin_email}` }, 'Support') : null),
      h('div', { class: 'muted small' }, s.support ? `support session · ${s.support.admin_email}` : (s.user && s.user.email) || ''));
    const actions = h('td', { class: 'cell-actions' });
    if (s.status === 'active') {
      actions.append(h('button', {
        type: 'button', class: 'btn btn-small btn-danger-outline', dataset: { role: 'revoke' },
        'aria-label': `Revoke session: ${describe(s)}`, onclick: () => revokeOne(s),
      }, 'Revoke'));
    }
    const place = placeOf(s.location);
    return h('tr', { dataset: { sessionId: s.id, status: s.status, userId: s.user ? s.user.id : '' }, class: s.current ? 'row-current' : s.status !== 'active' ? 'row-inactive' : null },
      h('td', { class: 'col-check' }, check),
      userCell,
      h('td', { 'data-label': 'Device', title: s.user_agent || '' },
        h('div', null, ua.browser), h('div', { class: 'muted small' }, ua.os || (s.user_agent ? '' : 'no user agent'))),
      h('td', { 'data-label': 'IP' }, h('div', { class: 'mono' }, s.ip || '—'),
        place ? h('div', { class: 'muted small cell-place' }, place) : null),
      h('td', { 'data-label': 'Session', class: 'cell-sid' }, shortId(s.id)),
      h('td', { 'data-label': 'Created' }, timeEl(s.created_at)),
      h('td', { 'data-label': 'Last activity' }, timeEl(s.last_activity_at)),
      h('td', { 'data-label': 'Expires' }, s.status === 'active' ? timeEl(s.expires_at) : h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'Status' }, statusPill(s)),
      actions);
  }

  async function revokeOne(s) {
    const reason = h('textarea', { rows: 2, maxlength: 500, placeholder: 'Optional' });
    const body = [
      h('p', null, h('strong', null, (s.user && (s.user.display_name || s.user.email)) || 'Unknown user'), ` · ${deviceOf(s).label} · ${s.ip || 'unknown IP'} · session ${String(s.id).slice(0, 8)}`),
      h('p', { class: 'muted' }, 'The user is signed out of this session on their next request.'),
    ];
    if (s.current) body.unshift(h('p', { class: 'notice notice-warn' }, 'This is your own session: you will be signed out.'));
    const v = await dialog({
      title: 'Revoke this session?',
      body,
      fields: [dialogField('reason', 'Reason', reason)],
      confirm: 'Revoke session',
      danger: true,
    });
    if (!v) return;
    try {
      const r = await api.post(api.t(tenant, `/sessions/${s.id}/revoke`), v.reason.trim() ? { reason: v.reason.trim() } : {});
      toast(r.revoked ? 'Session revoked.' : 'The session was already ended.');
      let fresh = null;
      try { fresh = await api.get(api.t(tenant, `/sessions/${s.id}`)); } catch (e) { if (e.status === 401) return; }
      const updated = fresh || { ...s, status: 'revoked', revoked_reason: 'admin_revoked', revoked_at: new Date().toISOString() };
      state.recentlyRevoked.set(s.id, { at: Date.now(), item: updated });
      state.items = state.items.map((x) => (x.id === s.id ? updated : x));
      state.selected.delete(s.id);
      render();
      const r2 = tbody.querySelector(`tr[data-session-id="${CSS.escape(s.id)}"]`);
      const next = r2 && r2.querySelector('input:not([disabled]),a');
      if (next) next.focus();
    } catch (e) {
      if (e.status !== 401) toast(`Could not revoke: ${e.message}`, 'error');
    }
  }

  function chunks(ids) {
    const out = [];
    for (let i = 0; i < ids.length; i += CHUNK) out.push(ids.slice(i, i + CHUNK));
    return out;
  }

  /** Run a bulk revocation: dry run (summed over parts), reason, then the real thing. */
  async function bulk(bodies, title, detail, idsShown) {
    let n = 0;
    try {
      for (const body of bodies) {
        const dry = await api.post(api.t(tenant, '/sessions/revoke'), { ...body, dry_run: true });
        n += dry.would_revoke || 0;
      }
    } catch (e) {
      if (e.status !== 401) toast(`Could not count sessions: ${e.message}`, 'error');
      return;
    }
    if (!n) {
      toast('No active sessions match: nothing to revoke.', 'warn');
      return;
    }
    const reason = await confirmBulk(title, n, detail);
    if (reason === null) return;
    let revoked = 0;
    try {
      for (const body of bodies) {
        const r = await api.post(api.t(tenant, '/sessions/revoke'), { ...body, reason });
        revoked += r.revoked || 0;
      }
      toast(`Revoked ${plural(revoked, 'session')}.`);
    } catch (e) {
      if (e.status !== 401) toast(`Could not revoke${revoked ? ` all (${count(revoked)} done)` : ''}: ${e.message}`, 'error');
    }
    const now = Date.now();
    for (const s of state.items) {
      if (idsShown ? idsShown.has(s.id) : s.status === 'active' && !s.current) {
        state.recentlyRevoked.set(s.id, { at: now, item: { ...s, status: 'revoked', revoked_reason: 'bulk_revoked', revoked_at: new Date(now).toISOString() } });
      }
    }
    state.selected.clear();
    await load({ keep: true });
  }

  /** Every active session the screen's search matches (except mine), page by page. */
  async function collectMatching() {
    const ids = [];
    let cursor = null;
    let mine = 0;
    do {
      const page = await api.get(api.t(tenant, '/sessions'), {
        status: state.status, q: state.q || undefined, user_id: opts.userId,
        sort: 'created_desc', limit: 200, cursor: cursor || undefined,
      });
      for (const s of page.items) {
        if (s.status !== 'active') continue;
        if (s.current) { mine += 1; continue; }
        ids.push(s.id);
      }
      cursor = page.next_cursor;
      if (revokeAll) revokeAll.textContent = `Collecting… ${count(ids.length)}`;
      if (ids.length > COLLECT_MAX) throw new Error(`more than ${count(COLLECT_MAX)} sessions match; narrow the search`);
    } while (cursor);
    return { ids, mine };
  }

  revokeSelected.addEventListener('click', () => {
    const ids = Array.from(state.selected);
    bulk(chunks(ids).map((c) => ({ session_ids: c })), `Revoke ${ids.length} selected session${ids.length === 1 ? '' : 's'}?`, 'Only the sessions you selected are affected.', new Set(ids));
  });
  if (revokeAll) {
    revokeAll.addEventListener('click', async () => {
      if (state.status === 'revoked') {
        toast('The screen shows revoked sessions: nothing to revoke.', 'warn');
        return;
      }
      if (!state.q) {
        bulk([{ filter: { all: true }, except_current: true }],
          'Revoke every session except yours?', 'Every active session of every user in this organization ends, except the one you are using now.');
        return;
      }
      const q = state.q;
      state.busy = true;
      revokeAll.disabled = true;
      let found;
      try {
        found = await collectMatching();
      } catch (e) {
        if (e.status !== 401) toast(`Could not collect the matching sessions: ${e.message}`, 'error');
        return;
      } finally {
        state.busy = false;
        revokeAll.disabled = false;
        render();
      }
      if (!found.ids.length) {
        toast(found.mine ? 'Only your own session matches: nothing to revoke.' : 'No active sessions match: nothing to revoke.', 'warn');
        return;
      }
      bulk(chunks(found.ids).map((c) => ({ session_ids: c })),
        `Revoke the sessions matching “${q}”?`,
        `Exactly the active sessions the search “${q}” matches${found.mine ? ', except yours' : ''}; nothing else in the organization.`,
        new Set(found.ids));
    });
  }
  selectAll.addEventListener('change', () => {
    for (const s of state.items) {
      if (s.status !== 'active' || s.current) continue;
      if (selectAll.checked) state.selected.add(s.id); else state.selected.delete(s.id);
    }
    render();
  });
  const searched = debounce(() => {
    if (search.value.trim() === state.q) return;
    state.q = search.value.trim();
    state.selected.clear();
    load();
  }, 250);
  // 'input' while typing; 'change'/'search' when cleared (the × button, Escape, a script).
  for (const ev of ['input', 'change', 'search']) search.addEventListener(ev, searched);
  status.addEventListener('change', () => { state.status = status.value; state.selected.clear(); load(); });
  refreshBtn.addEventListener('click', () => load({ keep: !state.error }));
  more.addEventListener('click', () => load({ append: true }));
  auto.addEventListener('change', () => { state.auto = auto.checked; schedule(); });

  // Arrow keys move between rows, keeping the column.
  tbody.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const cell = e.target.closest('td');
    const tr = e.target.closest('tr');
    if (!cell || !tr || e.target.tagName === 'SELECT') return;
    const col = Array.from(tr.children).indexOf(cell);
    let next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
    while (next) {
      const c = next.children[col];
      const target = (c && c.querySelector('input:not([disabled]),button:not([disabled]),a')) || next.querySelector('input:not([disabled]),button:not([disabled]),a');
      if (target) {
        e.preventDefault();
        target.focus();
        return;
      }
      next = e.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling;
    }
  });

  function schedule() {
    clearInterval(timer);
    timer = null;
    if (state.auto) {
      timer = setInterval(() => {
        if (document.hidden || document.querySelector('dialog[open]') || state.loading || state.busy) return;
        load({ keep: !state.error });
      }, 15000);
    }
  }

  render();
  load();
  schedule();
  return () => clearInterval(timer);
}

export function renderSessions(main, ctx) {
  main.append(h('div', { class: 'page-head' },
    h('h1', null, 'Sessions'),
    h('p', { class: 'muted' }, 'Everyone signed in to ', h('strong', null, ctx.tenantName || ctx.tenant), '. Open a user to end all of their sessions; revoking one signs that device out on its next request.')));
  return sessionsPanel(main, { tenant: ctx.tenant });
}
