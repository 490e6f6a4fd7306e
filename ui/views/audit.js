// Audit log: newest first, filters, readable rows, NDJSON export, chain status.

import * as api from '../api.js';
import { h, clear, toast, field } from '../dom.js';
import { timeEl } from '../format.js';

export const ACTIONS = {
  login: 'Signed in',
  login_failed: 'Failed sign-in',
  logout: 'Signed out',
  refresh_reuse_detected: 'Refresh token reuse detected',
  session_revoked: 'Session revoked',
  sessions_bulk_revoked: 'Sessions revoked in bulk',
  user_sessions_revoked: 'User signed out everywhere',
  user_created: 'User created',
  user_updated: 'User updated',
  password_changed: 'Password changed',
  policy_updated: 'Policy updated',
  grant_created: 'Support access granted or requested',
  grant_approved: 'Support access approved',
  grant_denied: 'Support access denied',
  grant_revoked: 'Support access revoked',
  grant_expired: 'Support access expired',
  support_session_started: 'Support session started',
  client_created: 'Service client created',
  client_deleted: 'Service client deleted',
  tenant_created: 'Organization created',
  access_requested: 'Support access requested',
  webhook_created: 'Webhook created',
  webhook_updated: 'Webhook changed',
  webhook_deleted: 'Webhook deleted',
  webhook_redelivered: 'Webhook delivery sent again',
  webhook_delivery_failed: 'Webhook delivery failed',
  ssf_stream_created: 'Signals stream created',
  ssf_stream_updated: 'Signals stream changed',
  ssf_stream_deleted: 'Signals stream deleted',
  ssf_stream_status_changed: 'Signals stream paused or resumed',
};

function actorCell(a) {
  if (!a) return '—';
  if (a.kind === 'system') return h('span', { class: 'muted' }, 'System');
  return h('span', null, a.email || a.id || 'unknown',
    a.kind === 'global_admin' ? h('span', { class: 'badge badge-support', title: 'Global administrator (support)' }, 'Support') : null);
}

function detailsText(e) {
  const parts = [];
  const d = e.details && typeof e.details === 'object' ? e.details : null;
  if (d) {
    for (const [k, v] of Object.entries(d)) {
      if (v === null || v === undefined || v === '') continue;
      if (k === 'reason' && e.reason) continue;
      const val = typeof v === 'object' ? JSON.stringify(v) : String(v);
      parts.push(`${k.replace(/_/g, ' ')}: ${val}`);
    }
  }
  return parts.join(' · ');
}

/** UUIDs shortened for reading (the full value on hover); other targets as they are. */
function shortId(v) {
  if (!v) return '—';
  if (/^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(v)) return h('span', { title: v }, `${v.slice(0, 8)}…${v.slice(-4)}`);
  return h('span', { class: 'wrap' }, v);
}

/** RFC 3339 UTC from a datetime-local value (the browser's zone). */
function toUtc(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function renderAudit(main, ctx) {
  const tenant = ctx.tenant;
  const state = { items: [], cursor: null, filters: {} };
  const badge = h('span', { class: 'pill pill-muted', id: 'chain-badge', role: 'status' }, 'Checking chain…');
  const exportBtn = h('button', { type: 'button', class: 'btn', id: 'audit-export' }, 'Export NDJSON');
  const action = h('select', { id: 'audit-action' }, h('option', { value: '' }, 'Any action'),
    Object.entries(ACTIONS).map(([k, v]) => h('option', { value: k }, v)));
  const actor = h('select', { id: 'audit-actor' }, h('option', { value: '' }, 'Anyone'));
  const since = h('input', { type: 'datetime-local', id: 'audit-since' });
  const until = h('input', { type: 'datetime-local', id: 'audit-until' });
  const apply = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply filters');
  const reset = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Reset');
  const tbody = h('tbody', { id: 'audit-body' });
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  const summary = h('p', { class: 'table-summary muted', 'aria-live': 'polite' });

  const filters = h('form', { class: 'filters', 'aria-label': 'Filter the audit log' },
    field('Action', action), field('Actor', actor), field('From', since), field('To', until),
    h('div', { class: 'filters-actions' }, apply, reset));

  main.append(
    h('div', { class: 'page-head page-head-row' },
      h('div', null, h('h1', null, 'Audit log'), h('p', { class: 'muted' }, 'Append-only and hash-chained: every entry seals the one before it.')),
      h('div', { class: 'head-actions' }, badge, exportBtn)),
    filters,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table table-audit' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Actor'), h('th', { scope: 'col' }, 'Action'),
        h('th', { scope: 'col' }, 'Target'), h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'IP'),
        h('th', { scope: 'col' }, 'Details'))),
      tbody)),
    h('div', { class: 'table-foot' }, summary, more));

  async function load(append) {
    try {
      const page = await api.get(api.t(tenant, '/audit'), { ...state.filters, cursor: append ? state.cursor : undefined, limit: 50 });
      state.items = append ? state.items.concat(page.items) : page.items;
      state.cursor = page.next_cursor;
      render();
    } catch (e) {
      if (e.status === 400) toast(`Check the filters: ${Object.values(e.details || {}).join('; ') || e.message}`, 'error');
      else if (e.status !== 401) toast(`Could not load the audit log: ${e.message}`, 'error');
    }
  }

  function render() {
    clear(tbody);
    if (!state.items.length) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, 'No entries match.')));
    for (const e of state.items) {
      const danger = /revoked|reuse|failed|disabled/.test(e.action);
      tbody.append(h('tr', { dataset: { seq: e.seq } },
        h('td', { 'data-label': 'When' }, timeEl(e.at), h('div', { class: 'muted small' }, `#${e.seq}`)),
        h('td', { 'data-label': 'Actor' }, actorCell(e.actor)),
        h('td', { 'data-label': 'Action' }, h('span', { class: danger ? 'action action-danger' : 'action', title: e.action }, ACTIONS[e.action] || e.action)),
        h('td', { 'data-label': 'Target', class: 'mono small' }, shortId(e.target)),
        h('td', { 'data-label': 'Reason' }, e.reason ? e.reason : h('span', { class: 'muted' }, '—')),
        h('td', { 'data-label': 'IP', class: 'mono' }, e.ip || '—'),
        h('td', { 'data-label': 'Details', class: 'small wrap' }, detailsText(e))));
    }
    summary.textContent = `${state.items.length} entr${state.items.length === 1 ? 'y' : 'ies'} shown, newest first${state.cursor ? ' (more available)' : ''}`;
    more.hidden = !state.cursor;
  }

  async function verify() {
    try {
      const v = await api.get(api.t(tenant, '/audit/verify'));
      badge.className = v.ok ? 'pill pill-ok' : 'pill pill-bad';
      badge.textContent = v.ok ? `Chain verified · ${v.entries} entries` : `Chain broken${v.bad_seq ? ` at #${v.bad_seq}` : ''}`;
      badge.title = v.ok ? `Head hash ${v.head_hash}` : (v.error || 'The hash chain does not verify');
    } catch (e) {
      badge.className = 'pill pill-muted';
      badge.textContent = 'Chain status unavailable';
    }
  }

  async function loadActors() {
    try {
      const page = await api.get(api.t(tenant, '/users'), { limit: 200 });
      for (const u of page.items) actor.append(h('option', { value: u.id }, `${u.display_name} (${u.email})`));
    } catch (e) { /* the filter just stays "Anyone" */ }
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    state.filters = { action: action.value || undefined, actor_id: actor.value || undefined, since: toUtc(since.value), until: toUtc(until.value) };
    load(false);
  });
  reset.addEventListener('click', () => {
    action.value = ''; actor.value = ''; since.value = ''; until.value = '';
    state.filters = {};
    load(false);
  });
  more.addEventListener('click', () => load(true));
  exportBtn.addEventListener('click', async () => {
    exportBtn.disabled = true;
    try {
      const res = await api.request('GET', api.t(tenant, '/audit/export'), { raw: true });
      const blob = await res.blob();
      const href = URL.createObjectURL(blob);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const a = h('a', { href, download: `audit-${tenant}-${stamp}.ndjson`, class: 'sr-only' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10000);
      toast('Audit log exported.');
    } catch (e) {
      if (e.status !== 401) toast(`Export failed: ${e.message}`, 'error');
    } finally {
      exportBtn.disabled = false;
    }
  });

  load(false);
  verify();
  loadActors();
}
