// Sessions: the tenant's sessions, search/filter/sort, paging, auto-refresh,
// revoke one, revoke selected, revoke all except mine.

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, debounce } from '../dom.js';
import { timeEl, parseUserAgent, exact } from '../format.js';

const REASONS = {
  user_logout: 'signed out',
  admin_revoked: 'revoked by an admin',
  user_sessions_revoked: 'user signed out everywhere',
  refresh_token_reuse: 'refresh token reuse',
  password_changed: 'password changed',
  user_disabled: 'user disabled',
  grant_expired: 'support grant expired',
  grant_revoked: 'support grant revoked',
  bulk_revoked: 'bulk revocation',
};

export function reasonLabel(r) {
  return REASONS[r] || (r ? r.replace(/_/g, ' ') : '');
}

export function statusPill(s) {
  const cls = s.status === 'active' ? 'pill-ok' : s.status === 'revoked' ? 'pill-bad' : 'pill-muted';
  const label = s.status === 'active' ? 'Active' : s.status === 'revoked' ? 'Revoked' : 'Expired';
  const pill = h('span', { class: `pill ${cls}` }, label);
  if (s.status === 'revoked') {
    return h('span', { class: 'status-cell', title: s.revoked_at ? `Revoked ${exact(s.revoked_at)}` : null },
      pill, h('span', { class: 'status-reason' }, reasonLabel(s.revoked_reason)));
  }
  if (s.status === 'expired') return h('span', { class: 'status-cell', title: 'Idle or absolute timeout reached' }, pill);
  return h('span', { class: 'status-cell', title: s.expires_at ? `Ends ${exact(s.expires_at)} unless used` : null }, pill);
}

function describe(s) {
  const who = (s.user && (s.user.display_name || s.user.email)) || 'unknown user';
  return `${who}, ${parseUserAgent(s.user_agent).label}, ${s.ip || 'unknown IP'}`;
}

/** Ask for a reason, showing the dry-run count; resolves to the reason or null. */
async function confirmBulk(title, count, detail) {
  const reason = h('textarea', { rows: 3, maxlength: 500, placeholder: 'e.g. incident INC-1234: suspected credential theft' });
  const values = await dialog({
    title,
    body: [
      h('p', { class: 'dialog-count', id: 'bulk-count' }, h('strong', null, String(count)), count === 1 ? ' active session will be revoked.' : ' active sessions will be revoked.'),
      h('p', null, detail),
      h('p', { class: 'muted' }, 'Each user is signed out on their next request. This cannot be undone; the reason is recorded in the audit log.'),
    ],
    fields: [dialogField('reason', 'Reason (required)', reason)],
    confirm: count === 1 ? 'Revoke 1 session' : `Revoke ${count} sessions`,
    danger: true,
    validate: (v) => (v.reason.trim() ? {} : { reason: 'Say why: it goes into the audit log.' }),
  });
  return values ? values.reason.trim() : null;
}

/**
 * A sessions table with its toolbar. opts: {tenant, userId?, title?}
 * Returns a cleanup function.
 */
export function sessionsPanel(container, opts) {
  const tenant = opts.tenant;
  const state = {
    q: '',
    status: opts.userId ? 'all' : 'active',
    sort: 'last_activity_desc',
    items: [],
    cursor: null,
    selected: new Set(),
    recentlyRevoked: new Map(),
    auto: true,
    loading: false,
    loadedAt: null,
    error: null,
  };
  let timer = null;
  let seq = 0;

  const search = h('input', { type: 'search', id: 'sessions-search', placeholder: 'Search name or email', 'aria-label': 'Search sessions by user name or email', autocomplete: 'off' });
  const status = h('select', { id: 'sessions-status', 'aria-label': 'Status' },
    h('option', { value: 'active' }, 'Active'),
    h('option', { value: 'revoked' }, 'Revoked'),
    h('option', { value: 'all' }, 'All statuses'));
  status.value = state.status;
  const sort = h('select', { id: 'sessions-sort', 'aria-label': 'Sort' },
    h('option', { value: 'last_activity_desc' }, 'Last activity, newest first'),
    h('option', { value: 'created_desc' }, 'Created, newest first'));
  const auto = h('input', { type: 'checkbox', id: 'sessions-auto', checked: true });
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'sessions-refresh' }, 'Refresh');
  const revokeSelected = h('button', { type: 'button', class: 'btn btn-danger', id: 'revoke-selected', disabled: true }, 'Revoke selected');
  const revokeAll = opts.userId ? null : h('button', { type: 'button', class: 'btn btn-danger-outline', id: 'revoke-all-except-mine' }, 'Revoke all except mine');
  const summary = h('p', { class: 'table-summary muted', id: 'sessions-summary', 'aria-live': 'polite' });
  const selectAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select all active sessions shown' });
  const tbody = h('tbody', { id: 'sessions-body' });
  const more = h('button', { type: 'button', class: 'btn', id: 'sessions-more', hidden: true }, 'Load more');
  const errorBox = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });

  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'toolbar-group grow' }, search, status, opts.userId ? null : sort),
    h('div', { class: 'toolbar-group' },
      h('label', { class: 'check', for: 'sessions-auto' }, auto, 'Auto-refresh'),
      refreshBtn),
    h('div', { class: 'toolbar-group' }, revokeSelected, revokeAll));

  const table = h('table', { class: 'table table-sessions', id: 'sessions-table' },
    h('caption', { class: 'sr-only' }, opts.userId ? 'Sessions of this user' : 'Sessions of this organization. Arrow keys move between rows.'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'col-check' }, selectAll),
      h('th', { scope: 'col' }, 'User'),
      h('th', { scope: 'col' }, 'Device'),
      h('th', { scope: 'col' }, 'IP address'),
      h('th', { scope: 'col' }, 'Created'),
      h('th', { scope: 'col' }, 'Last activity'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tbody);

  container.append(toolbar, errorBox, h('div', { class: 'table-wrap' }, table), h('div', { class: 'table-foot' }, summary, more));

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
      state.cursor = page.next_cursor;
      state.loadedAt = new Date();
      state.error = null;
      const live = new Set(state.items.filter((s) => s.status === 'active').map((s) => s.id));
      for (const id of Array.from(state.selected)) if (!live.has(id)) state.selected.delete(id);
      render();
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 401) return;
      state.error = e.message;
      render();
    } finally {
      if (mine === seq) {
        state.loading = false;
        container.removeAttribute('aria-busy');
      }
    }
  }

  function render() {
    // Keep keyboard focus on the same control of the same row across re-renders.
    const active = document.activeElement;
    let focusKey = null;
    if (active && tbody.contains(active)) {
      const row = active.closest('tr');
      focusKey = { id: row && row.dataset.sessionId, role: active.dataset.role };
    }
    errorBox.hidden = !state.error;
    errorBox.textContent = state.error ? `Could not load sessions: ${state.error}` : '';
    clear(tbody);
    if (!state.items.length) {
      tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 8 },
        state.q ? `No sessions match “${state.q}”.` : state.status === 'active' ? 'No active sessions.' : 'No sessions.')));
    }
    for (const s of state.items) tbody.append(row(s));
    const n = state.items.length;
    const stamp = state.loadedAt ? ` · updated ${state.loadedAt.toLocaleTimeString()}` : '';
    summary.textContent = `${n} session${n === 1 ? '' : 's'} shown${state.cursor ? ' (more available)' : ''}${stamp}`;
    more.hidden = !state.cursor;
    const selectable = state.items.filter((s) => s.status === 'active' && !s.current);
    selectAll.checked = selectable.length > 0 && selectable.every((s) => state.selected.has(s.id));
    selectAll.indeterminate = !selectAll.checked && selectable.some((s) => state.selected.has(s.id));
    selectAll.disabled = selectable.length === 0;
    const k = state.selected.size;
    revokeSelected.disabled = k === 0;
    revokeSelected.textContent = k ? `Revoke selected (${k})` : 'Revoke selected';
    if (focusKey && focusKey.id) {
      const r = tbody.querySelector(`tr[data-session-id="${CSS.escape(focusKey.id)}"]`);
      const target = r && (r.querySelector(`[data-role="${focusKey.role}"]:not([disabled])`) || r.querySelector('input,button,a'));
      if (target) target.focus();
    }
  }

  function row(s) {
    const ua = parseUserAgent(s.user_agent);
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
    const userCell = h('td', { class: 'cell-user', 'data-label': 'User' },
      h('div', { class: 'user-line' },
        s.user ? h('a', { href: `/users/${s.user.id}`, 'data-nav': '', dataset: { role: 'user' }, class: 'user-name' }, name) : h('span', null, name),
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
    return h('tr', { dataset: { sessionId: s.id, status: s.status }, class: s.current ? 'row-current' : s.status !== 'active' ? 'row-inactive' : null },
      h('td', { class: 'col-check' }, check),
      userCell,
      h('td', { 'data-label': 'Device', title: s.user_agent || '' },
        h('div', null, ua.browser), h('div', { class: 'muted small' }, ua.os || (s.user_agent ? '' : 'no user agent'))),
      h('td', { 'data-label': 'IP', class: 'mono' }, s.ip || '—'),
      h('td', { 'data-label': 'Created' }, timeEl(s.created_at)),
      h('td', { 'data-label': 'Last activity' }, timeEl(s.last_activity_at)),
      h('td', { 'data-label': 'Status' }, statusPill(s)),
      actions);
  }

  async function revokeOne(s) {
    const reason = h('textarea', { rows: 2, maxlength: 500, placeholder: 'Optional' });
    const body = [
      h('p', null, h('strong', null, (s.user && (s.user.display_name || s.user.email)) || 'Unknown user'), ` · ${parseUserAgent(s.user_agent).label} · ${s.ip || 'unknown IP'}`),
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

  async function bulk(body, title, detail) {
    let count;
    try {
      const dry = await api.post(api.t(tenant, '/sessions/revoke'), { ...body, dry_run: true });
      count = dry.would_revoke;
    } catch (e) {
      if (e.status !== 401) toast(`Could not count sessions: ${e.message}`, 'error');
      return;
    }
    if (!count) {
      toast('No active sessions match: nothing to revoke.', 'warn');
      return;
    }
    const reason = await confirmBulk(title, count, detail);
    if (reason === null) return;
    try {
      const r = await api.post(api.t(tenant, '/sessions/revoke'), { ...body, reason });
      toast(`Revoked ${r.revoked} session${r.revoked === 1 ? '' : 's'}.`);
      const now = Date.now();
      for (const s of state.items) {
        if (body.session_ids ? body.session_ids.includes(s.id) : s.status === 'active' && !s.current) {
          state.recentlyRevoked.set(s.id, { at: now, item: { ...s, status: 'revoked', revoked_reason: 'bulk_revoked', revoked_at: new Date(now).toISOString() } });
        }
      }
      state.selected.clear();
      await load({ keep: true });
    } catch (e) {
      if (e.status !== 401) toast(`Could not revoke: ${e.message}`, 'error');
    }
  }

  revokeSelected.addEventListener('click', () => {
    const ids = Array.from(state.selected);
    bulk({ session_ids: ids }, `Revoke ${ids.length} selected session${ids.length === 1 ? '' : 's'}?`, 'Only the sessions you selected are affected.');
  });
  if (revokeAll) {
    revokeAll.addEventListener('click', () => bulk({ filter: { all: true }, except_current: true },
      'Revoke every session except yours?', 'Every active session of every user in this organization ends, except the one you are using now.'));
  }
  selectAll.addEventListener('change', () => {
    for (const s of state.items) {
      if (s.status !== 'active' || s.current) continue;
      if (selectAll.checked) state.selected.add(s.id); else state.selected.delete(s.id);
    }
    render();
  });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); state.selected.clear(); load(); }, 250));
  status.addEventListener('change', () => { state.status = status.value; state.selected.clear(); load(); });
  sort.addEventListener('change', () => { state.sort = sort.value; load(); });
  refreshBtn.addEventListener('click', () => load({ keep: true }));
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
        if (document.hidden || document.querySelector('dialog[open]') || state.loading) return;
        load({ keep: true });
      }, 15000);
    }
  }

  load();
  schedule();
  return () => clearInterval(timer);
}

export function renderSessions(main, ctx) {
  main.append(h('div', { class: 'page-head' },
    h('h1', null, 'Sessions'),
    h('p', { class: 'muted' }, 'Everyone signed in to ', h('strong', null, ctx.tenant), '. Revoking a session signs that device out on its next request.')));
  return sessionsPanel(main, { tenant: ctx.tenant });
}
