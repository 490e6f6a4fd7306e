// Audit log: newest first; filters (action, actor, user concerned, session,
// dates); every entry in words with the admin's reason; bulk parts as one
// entry; full ids with copy; NDJSON/CSV export of the filtered view; the
// chain's verification badge.

import * as api from '../api.js';
import { h, clear, toast, field, fieldError } from '../dom.js';
import {
  timeEl, exact, duration, deviceOf, count, plural, fullId, copyButton,
  errorBanner, loadingRow, emptyRow,
} from '../format.js';
import { isReasonCode, reasonLabel } from './sessions.js';

export const ACTIONS = {
  login: 'Signed in',
  login_failed: 'Failed sign-in',
  logout: 'Signed out',
  refresh_reuse_detected: 'Refresh token reuse detected',
  session_revoked: 'Session revoked',
  sessions_bulk_revoked: 'Sessions revoked in bulk',
  user_sessions_revoked: 'All sessions of a user ended',
  user_created: 'User created',
  user_updated: 'User changed (disabled, enabled, role, name)',
  password_changed: 'Password changed',
  policy_updated: 'Policy updated',
  grant_created: 'Support access granted',
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
  other_sessions_revoked: 'Other devices signed out',
  login_refused: 'Sign-in refused (session limit)',
};

const ROLE = { member: 'a member', org_admin: 'an org admin', global_admin: 'a global admin' };
const POLICY = {
  access_token_ttl_secs: 'access token lifetime',
  idle_timeout_secs: 'idle timeout',
  absolute_timeout_secs: 'absolute timeout',
  refresh_reuse_grace_secs: 'refresh reuse grace',
  max_support_grant_secs: 'longest support grant',
  min_password_length: 'minimum password length',
  max_sessions_per_user: 'sessions per user',
  session_limit_action: 'when the limit is reached',
};
const SIMPLE = {
  support_session_started: 'started a support session',
  client_deleted: 'deleted a service client',
  webhook_created: 'created a webhook',
  webhook_updated: 'changed a webhook',
  webhook_deleted: 'deleted a webhook',
  webhook_redelivered: 'sent a webhook delivery again',
  ssf_stream_created: 'created a signals stream',
  ssf_stream_updated: 'changed a signals stream',
  ssf_stream_deleted: 'deleted a signals stream',
  ssf_stream_status_changed: 'paused or resumed a signals stream',
};
const USER_TARGET = new Set(['user_created', 'user_updated', 'user_sessions_revoked', 'password_changed']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Names of the tenant's users, for sentences: loads a first batch, then
 * fetches the ids an entry mentions that it does not know yet.
 */
export class Names {
  constructor(tenant) {
    this.tenant = tenant;
    this.byId = new Map();
    this.byEmail = new Map();
    this.pending = new Set();
    this.missing = new Set();
  }

  add(u) {
    if (!u || !u.id) return;
    this.byId.set(u.id, u);
    if (u.email) this.byEmail.set(u.email.toLowerCase(), u);
  }

  /** The first pages of users (up to 1,000) — enough for the filter lists. */
  async preload(pages = 5) {
    let cursor = null;
    let n = 0;
    do {
      const page = await api.get(api.t(this.tenant, '/users'), { limit: 200, cursor: cursor || undefined });
      for (const u of page.items) this.add(u);
      cursor = page.next_cursor;
      n += 1;
    } while (cursor && n < pages);
    return Array.from(this.byId.values());
  }

  /** Fetch the users among `ids` not known yet; resolves true when any arrived. */
  async resolve(ids) {
    const want = [...new Set(ids)].filter((id) => id && UUID.test(id) && !this.byId.has(id) && !this.pending.has(id) && !this.missing.has(id)).slice(0, 40);
    if (!want.length) return false;
    for (const id of want) this.pending.add(id);
    const got = await Promise.all(want.map((id) => api.get(api.t(this.tenant, `/users/${id}`)).then((u) => { this.add(u); return true; }, () => { this.missing.add(id); return false; })));
    for (const id of want) this.pending.delete(id);
    return got.some(Boolean);
  }

  /** "Mia Member" for a user id (or the email we were given, or a short id). */
  user(id, email) {
    const u = (id && this.byId.get(id)) || (email && this.byEmail.get(String(email).toLowerCase()));
    if (u) return u.display_name || u.email;
    if (email) return email;
    return id ? `user ${String(id).slice(0, 8)}` : 'a user';
  }
}

/** Who acted, in words. */
function actorName(a, names) {
  if (!a || a.kind === 'system') return 'The system';
  if (a.kind === 'global_admin') return a.email || 'A global admin';
  return names.user(a.id, a.email);
}

/** The user an entry is about (its target, or the user named in details). */
export function subjectOf(e) {
  const d = (e.details && typeof e.details === 'object') ? e.details : {};
  if (USER_TARGET.has(e.action) && e.target && UUID.test(e.target)) return e.target;
  if (d.user_id) return d.user_id;
  const ids = d.user_ids || (d.criteria && d.criteria.filter && d.criteria.filter.user_ids);
  if (Array.isArray(ids) && ids.length === 1) return ids[0];
  if ((e.action === 'login' || e.action === 'logout') && e.actor && e.actor.kind === 'user') return e.actor.id;
  return null;
}

function usersOf(e) {
  const d = (e.details && typeof e.details === 'object') ? e.details : {};
  const ids = d.user_ids || (d.criteria && d.criteria.filter && d.criteria.filter.user_ids);
  return Array.isArray(ids) ? ids : [];
}

/** Every user id an entry mentions (for resolving names). */
export function mentioned(e) {
  const out = [];
  // Global admins live outside the tenant: their ids are not users here.
  if (e.actor && e.actor.id && e.actor.kind === 'user') out.push(e.actor.id);
  const s = subjectOf(e);
  if (s) out.push(s);
  out.push(...usersOf(e));
  return out;
}

function possessive(name) {
  return /s$/i.test(name) ? `${name}’` : `${name}’s`;
}

/** The admin's reason (not a reason code), if any. */
export function typedReason(e) {
  return e.reason && !isReasonCode(e.reason) ? e.reason : '';
}

/** One entry (or a grouped bulk entry) as a sentence, without the reason. */
export function sentence(e, names) {
  const d = (e.details && typeof e.details === 'object') ? e.details : {};
  const who = actorName(e.actor, names);
  const subjectId = subjectOf(e);
  const subject = names.user(subjectId, d.email);
  const n = Number(d.count ?? d.sessions_revoked ?? 0);
  switch (e.action) {
    case 'login': {
      const dev = d.user_agent || d.device ? deviceOf({ device: d.device, user_agent: d.user_agent }).label : '';
      return `${who} signed in${dev && dev !== 'Unknown client' ? ` with ${dev}` : ''}`;
    }
    case 'login_failed':
      return `Failed sign-in as ${e.target || d.email || 'an unknown user'}${d.unknown_tenant ? ` (unknown organization “${d.unknown_tenant}”)` : ''}`;
    case 'logout':
      return `${who} signed out`;
    case 'refresh_reuse_detected':
      return `A refresh token of ${subject} was used twice (possible token theft); the system ended that session`;
    case 'session_revoked':
      if (e.reason === 'user_revoked_other') return `${who} signed out one of their other devices`;
      if (e.reason === 'session_limit') return `A newer sign-in of ${subject} ended their least recently used session${d.limit ? ` (at most ${plural(d.limit, 'session')})` : ''}`;
      return `${who} ended a session of ${subject}`;
    case 'other_sessions_revoked':
      return `${who} signed out ${plural(n, 'other device')}`;
    case 'login_refused':
      return `${who} could not sign in: the organization allows at most ${plural(Number(d.limit || 0), 'session')} per user`;
    case 'sessions_bulk_revoked': {
      const users = usersOf(e);
      const f = (d.criteria && d.criteria.filter) || null;
      let scope = '';
      if (users.length === 1) scope = ` of ${names.user(users[0])}`;
      else if (users.length > 1) scope = ` of ${users.length} users (${users.slice(0, 3).map((u) => names.user(u)).join(', ')}${users.length > 3 ? ', …' : ''})`;
      else if (f && f.all) scope = ` across the organization${d.criteria.except_current ? ' (all but their own)' : ''}`;
      else if (f && f.idle_for_secs != null) scope = ` idle for ${duration(f.idle_for_secs)} or more`;
      else if (f && f.created_before) scope = ` created before ${new Date(f.created_before).toLocaleString()}`;
      else if (d.criteria && d.criteria.session_ids) scope = ' chosen one by one';
      return `${who} ended ${plural(n, 'session')}${scope}`;
    }
    case 'user_sessions_revoked': {
      const end = n ? `ended ${plural(n, 'session')} of ${subject}` : `signed ${subject} out everywhere (no session was active)`;
      return `${who} ${end}${d.disabled ? ' and disabled the account' : ''}`;
    }
    case 'user_updated': {
      const c = d.changes || {};
      const parts = [];
      if (c.disabled === true) parts.push(`disabled ${possessive(subject)} account${d.sessions_revoked ? `, ending ${plural(d.sessions_revoked, 'session')}` : ''}`);
      if (c.disabled === false) parts.push(`enabled ${possessive(subject)} account`);
      if (c.role) parts.push(`made ${subject} ${ROLE[c.role] || c.role}`);
      if (c.display_name) parts.push(`renamed ${d.email || subject} to “${c.display_name}”`);
      return parts.length ? `${who} ${parts.join(' and ')}` : `${who} updated ${subject}`;
    }
    case 'user_created':
      return `${who} created the account of ${d.display_name || d.email || subject}${d.display_name && d.email ? ` (${d.email})` : ''}${d.role ? ` as ${ROLE[d.role] || d.role}` : ''}`;
    case 'password_changed':
      return `${who} set a new password for ${subject}${d.sessions_revoked ? `, ending ${plural(d.sessions_revoked, 'other session')}` : ''}`;
    case 'policy_updated': {
      const o = d.old || {};
      const nw = d.new || {};
      const changed = Object.keys(nw).filter((k) => o[k] !== nw[k]).map((k) => {
        const fmt = (v) => (/_secs$/.test(k) ? duration(v) : String(v));
        return `${POLICY[k] || k.replace(/_/g, ' ')} ${fmt(o[k])} → ${fmt(nw[k])}`;
      });
      return `${who} changed the session policy${changed.length ? `: ${changed.join(', ')}` : ''}`;
    }
    case 'tenant_created':
      return `${who} created the organization ${d.name || e.target}`;
    case 'client_created':
      return `${who} created the service client “${d.name || e.target}”`;
    case 'grant_created':
      return `${who} granted support access to ${d.grantee || 'a global admin'}${d.expires_at ? ` until ${new Date(d.expires_at).toLocaleString()}` : ''}`;
    case 'access_requested':
      return `${who} asked for support access${d.duration_secs ? ` for ${duration(d.duration_secs)}` : ''}`;
    case 'grant_approved':
      return `${who} approved support access for ${d.grantee || 'a global admin'}`;
    case 'grant_denied':
      return `${who} denied support access to ${d.grantee || 'a global admin'}`;
    case 'grant_revoked':
      return `${who} revoked the support access of ${d.grantee || 'a global admin'}${d.sessions_revoked ? `, ending ${plural(d.sessions_revoked, 'support session')}` : ''}`;
    case 'grant_expired':
      return `The support access of ${d.grantee || 'a global admin'} expired${d.sessions_revoked ? `, ending ${plural(d.sessions_revoked, 'support session')}` : ''}`;
    case 'webhook_delivery_failed':
      return 'A webhook delivery failed';
    default:
      if (SIMPLE[e.action]) return `${who} ${SIMPLE[e.action]}`;
      return `${who}: ${ACTIONS[e.action] || e.action.replace(/_/g, ' ')}`;
  }
}

/** The whole line: sentence, then ": reason" (the admin's words) or the reason code in words. */
export function entryText(e, names) {
  const s = sentence(e, names);
  const typed = typedReason(e);
  if (typed) return `${s}: ${typed}`;
  if (e.reason && !['user_sessions_revoked', 'refresh_reuse_detected', 'login_refused'].includes(e.action) && !/^grant_/.test(e.action) && !['user_revoked_other', 'session_limit'].includes(e.reason)) {
    return `${s} (${reasonLabel(e.reason)})`;
  }
  return s;
}

function sessionIdsOf(e) {
  const d = (e.details && typeof e.details === 'object') ? e.details : {};
  return Array.isArray(d.session_ids) ? d.session_ids : [];
}

/**
 * Entries (newest first) with bulk parts that share `details.bulk_id`
 * folded into one logical entry: counts summed, session ids joined,
 * `parts` kept (newest first).
 */
export function groupEntries(items) {
  const out = [];
  const groups = new Map();
  for (const e of items) {
    const bid = e.details && typeof e.details === 'object' ? e.details.bulk_id : null;
    if (!bid) { out.push(e); continue; }
    let g = groups.get(bid);
    if (!g) {
      g = { ...e, details: { ...e.details, count: 0, session_ids: [] }, parts: [] };
      groups.set(bid, g);
      out.push(g);
    }
    g.parts.push(e);
    g.details.count += Number(e.details.count || sessionIdsOf(e).length || 0);
    g.details.parts = e.details.parts || g.parts.length;
  }
  // Session ids in the order they were revoked (oldest part first).
  for (const g of groups.values()) {
    g.details.session_ids = g.parts.slice().sort((a, b) => a.seq - b.seq).flatMap(sessionIdsOf);
  }
  return out;
}

/** The expandable list of session ids of an entry (full ids, each with Copy). */
function sessionList(ids) {
  if (!ids.length) return null;
  const list = h('ul', { class: 'sid-list' }, ids.slice(0, 2000).map((id) => h('li', null, fullId(id, 'session id'))));
  const more = ids.length > 2000 ? h('p', { class: 'muted small' }, `… and ${count(ids.length - 2000)} more (the export has them all).`) : null;
  return h('details', { class: 'sid-details', dataset: { role: 'sessions' } },
    h('summary', null, `${plural(ids.length, 'session')} listed`, ' ', copyButton(ids.join('\n'), 'all session ids')),
    list, more);
}

function target(e) {
  if (!e.target) return h('span', { class: 'muted' }, '—');
  if (UUID.test(e.target)) return fullId(e.target, 'target id');
  return h('span', { class: 'wrap' }, e.target);
}

/** The raw facts of an entry behind a disclosure: actor id, grant, hashes, details. */
function factsOf(e) {
  const rows = [
    ['Actor', e.actor ? [e.actor.email || e.actor.kind, e.actor.id ? ' ' : '', e.actor.id ? fullId(e.actor.id, 'actor id') : null] : '—'],
    ['Action', h('code', null, e.action)],
    e.reason ? ['Reason', e.reason] : null,
    e.grant_id ? ['Support grant', fullId(e.grant_id, 'grant id')] : null,
    e.parts ? ['Parts', `${e.parts.length} of ${e.details.parts || e.parts.length} (#${Math.min(...e.parts.map((p) => p.seq))}–#${Math.max(...e.parts.map((p) => p.seq))})`] : null,
    ['Hash', h('code', { class: 'mono small wrap' }, e.hash || '')],
  ].filter(Boolean);
  const raw = e.parts ? e.parts.map((p) => ({ seq: p.seq, details: p.details })) : e.details;
  return h('details', { class: 'entry-facts' },
    h('summary', null, 'Details'),
    h('dl', { class: 'facts facts-tight' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    raw && Object.keys(raw).length ? h('pre', { class: 'raw-json' }, JSON.stringify(raw, (k, v) => (k === 'session_ids' && Array.isArray(v) && v.length > 5 ? `[${v.length} ids]` : v), 2)) : null);
}

/** The "what happened" cell of an entry. */
export function entryCell(e, names) {
  const danger = /revoked|reuse|failed|disabled/.test(e.action) || (e.details && e.details.changes && e.details.changes.disabled === true);
  return h('div', { class: 'entry' },
    h('p', { class: danger ? 'entry-text action-danger' : 'entry-text', dataset: { role: 'entry-text' } },
      entryText(e, names),
      e.grant_id ? h('span', { class: 'badge badge-support', title: 'Done in a support session by a global administrator' }, 'Support') : null),
    e.parts && e.parts.length > 1 ? h('p', { class: 'muted small' }, `One bulk revocation written in ${e.parts.length} parts.`) : null,
    sessionList(sessionIdsOf(e)),
    factsOf(e));
}

/** RFC 3339 UTC from a datetime-local value (the browser's zone). */
function toUtc(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A datetime-local value for an RFC 3339 time. */
function toLocal(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Count CSV records (quoted fields may hold newlines). */
function csvRecords(text) {
  let n = 0;
  let quoted = false;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) { n += 1; any = false; continue; }
    any = true;
  }
  return n + (any ? 1 : 0);
}

const FILTER_KEYS = ['action', 'actor_id', 'target_user_id', 'session_id', 'since', 'until'];

export function renderAudit(main, ctx) {
  const tenant = ctx.tenant;
  const names = new Names(tenant);
  const state = { items: [], cursor: null, filters: {}, loaded: false, loading: false, error: null };
  let seq = 0;
  const badge = h('span', { class: 'pill pill-muted', id: 'chain-badge', role: 'status' }, 'Checking chain…');
  const exportBtn = h('button', { type: 'button', class: 'btn', id: 'audit-export', dataset: { format: 'ndjson' } }, 'Export NDJSON');
  const exportCsv = h('button', { type: 'button', class: 'btn', id: 'audit-export-csv', dataset: { format: 'csv' } }, 'Export CSV');
  const exportStatus = h('p', { class: 'muted small export-status', id: 'audit-export-status', role: 'status' });
  const action = h('select', { id: 'audit-action' }, h('option', { value: '' }, 'Any action'),
    Object.entries(ACTIONS).map(([k, v]) => h('option', { value: k }, v)));
  const actor = h('select', { id: 'audit-actor' }, h('option', { value: '' }, 'Anyone'));
  const about = h('select', { id: 'audit-target-user' }, h('option', { value: '' }, 'Any user'));
  const session = h('input', { type: 'text', id: 'audit-session', placeholder: 'full session id', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  const since = h('input', { type: 'datetime-local', id: 'audit-since' });
  const until = h('input', { type: 'datetime-local', id: 'audit-until' });
  const apply = h('button', { type: 'submit', class: 'btn btn-primary', id: 'audit-apply' }, 'Apply filters');
  const reset = h('button', { type: 'button', class: 'btn btn-ghost', id: 'audit-reset' }, 'Reset');
  const tbody = h('tbody', { id: 'audit-body' });
  const more = h('button', { type: 'button', class: 'btn', id: 'audit-more', hidden: true }, 'Load more');
  const summary = h('p', { class: 'table-summary muted', id: 'audit-summary', 'aria-live': 'polite' });
  const errorBox = h('div', { id: 'audit-error', hidden: true });
  const filterError = h('p', { class: 'form-error', id: 'audit-filter-error', role: 'alert' });

  const filters = h('form', { class: 'filters filters-audit', 'aria-label': 'Filter the audit log', novalidate: true },
    field('Action', action), field('Done by', actor), field('About user', about, null),
    field('Session', session), field('From', since), field('To', until),
    h('div', { class: 'filters-actions' }, apply, reset),
    filterError);

  const COLS = 4;
  const wrap = h('div', { class: 'table-wrap' }, h('table', { class: 'table table-audit' },
    h('caption', { class: 'sr-only' }, 'Audit entries, newest first'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'What happened'),
      h('th', { scope: 'col' }, 'Target'), h('th', { scope: 'col' }, 'IP'))),
    tbody));
  const foot = h('div', { class: 'table-foot' }, summary, more);

  main.append(
    h('div', { class: 'page-head page-head-row' },
      h('div', null, h('h1', null, 'Audit log'), h('p', { class: 'muted' }, 'Append-only and hash-chained: every entry seals the one before it.')),
      h('div', { class: 'head-actions' }, badge, exportBtn, exportCsv, exportStatus)),
    filters, errorBox, wrap, foot);

  // Filters from the address (links from a user's page land here filtered).
  const initial = new URLSearchParams(location.search);
  for (const k of FILTER_KEYS) if (initial.get(k)) state.filters[k] = initial.get(k);
  action.value = state.filters.action || '';
  session.value = state.filters.session_id || '';
  since.value = toLocal(state.filters.since);
  until.value = toLocal(state.filters.until);
  const wantActor = state.filters.actor_id || '';
  const wantAbout = state.filters.target_user_id || '';
  for (const [sel, id] of [[actor, wantActor], [about, wantAbout]]) {
    if (id) { sel.append(h('option', { value: id }, `user ${id.slice(0, 8)}`)); sel.value = id; }
  }

  function syncAddress() {
    const q = new URLSearchParams();
    for (const k of FILTER_KEYS) if (state.filters[k]) q.set(k, state.filters[k]);
    const s = q.toString();
    history.replaceState(history.state, '', s ? `/audit?${s}` : '/audit');
  }

  async function load(append) {
    const mine = ++seq;
    state.loading = true;
    if (!append) { state.loaded = false; state.items = []; render(); }
    try {
      const page = await api.get(api.t(tenant, '/audit'), { ...state.filters, cursor: append ? state.cursor : undefined, limit: 50 });
      if (mine !== seq) return;
      state.items = append ? state.items.concat(page.items) : page.items;
      state.cursor = page.next_cursor;
      state.error = null;
      state.loaded = true;
      names.resolve(state.items.flatMap(mentioned)).then((any) => { if (any && mine === seq) render(); }, () => {});
    } catch (e) {
      if (mine !== seq || e.status === 401) return;
      state.error = e;
      if (e.status === 400) {
        state.items = [];
        state.loaded = false;
        const d = e.details || {};
        const byField = { until, since, session_id: session, actor_id: actor, target_user_id: about, action };
        for (const [k, m] of Object.entries(d)) if (byField[k]) fieldError(byField[k], m);
      }
    } finally {
      if (mine === seq) {
        state.loading = false;
        render();
      }
    }
  }

  function render() {
    const e = state.error;
    const stale = e && e.status !== 400 && state.items.length;
    errorBanner(errorBox, e, 'the audit log', () => load(false), stale ? 'The entries below may be out of date.' : '');
    wrap.hidden = !!e && !stale;
    foot.hidden = !!e && !stale;
    clear(tbody);
    const groups = groupEntries(state.items);
    if (!state.loaded && !e) tbody.append(loadingRow(COLS, 'Loading the audit log…'));
    else if (state.loaded && !groups.length) {
      const filtered = Object.values(state.filters).some(Boolean);
      tbody.append(emptyRow(COLS, filtered ? 'No entries match these filters.' : 'No entries yet.', filtered ? 'Widen the dates or reset the filters.' : null));
    }
    for (const g of groups) {
      tbody.append(h('tr', { dataset: { seq: g.seq, action: g.action, bulkId: (g.details && g.details.bulk_id) || '' } },
        h('td', { 'data-label': 'When' }, timeEl(g.at), h('div', { class: 'muted small' }, g.parts && g.parts.length > 1 ? `#${Math.min(...g.parts.map((p) => p.seq))}–#${g.seq}` : `#${g.seq}`)),
        h('td', { 'data-label': 'What happened' }, entryCell(g, names)),
        h('td', { 'data-label': 'Target', class: 'cell-target' }, target(g)),
        h('td', { 'data-label': 'IP', class: 'mono' }, g.ip || '—')));
    }
    const n = groups.length;
    summary.textContent = state.loaded ? `${n} entr${n === 1 ? 'y' : 'ies'} shown, newest first${state.cursor ? ' (more available)' : ''}` : '';
    more.hidden = !state.cursor;
  }

  async function verify() {
    try {
      const v = await api.get(api.t(tenant, '/audit/verify'));
      badge.className = v.ok ? 'pill pill-ok' : 'pill pill-bad';
      badge.textContent = v.ok ? `Chain verified · ${count(v.entries)} entries` : `Chain broken${v.bad_seq ? ` at #${v.bad_seq}` : ''}`;
      badge.title = v.ok ? `Head hash ${v.head_hash}` : (v.error || 'The hash chain does not verify');
      return v;
    } catch (e) {
      badge.className = 'pill pill-muted';
      badge.textContent = 'Chain status unavailable';
      return null;
    }
  }

  async function loadUsers() {
    try {
      const users = await names.preload();
      users.sort((a, b) => (a.display_name || a.email).localeCompare(b.display_name || b.email));
      for (const sel of [actor, about]) {
        const want = sel.value;
        while (sel.options.length > 1) sel.remove(1);
        for (const u of users) sel.append(h('option', { value: u.id }, `${u.display_name || u.email} (${u.email})`));
        if (want && !users.some((u) => u.id === want)) {
          await names.resolve([want]);
          sel.append(h('option', { value: want }, names.user(want)));
        }
        sel.value = want;
      }
      render();
    } catch (e) { /* the filters just list no names */ }
  }

  /** Validate the form; resolves to filters, or null with the errors shown. */
  function readFilters() {
    for (const el of [since, until, session]) fieldError(el, '');
    filterError.textContent = '';
    let ok = true;
    const s = toUtc(since.value);
    const u = toUtc(until.value);
    if (s && u && new Date(s) > new Date(u)) {
      fieldError(until, '“To” is before “From”: pick a later end, or an earlier start.');
      ok = false;
    }
    const sid = session.value.trim().toLowerCase();
    if (sid && !UUID.test(sid)) {
      fieldError(session, 'A session id is 36 characters, like 0193ab12-3c4d-7e5f-8a9b-0c1d2e3f4a5b (copy it from the Sessions page).');
      ok = false;
    }
    if (!ok) return null;
    return {
      action: action.value || undefined, actor_id: actor.value || undefined, target_user_id: about.value || undefined,
      session_id: sid || undefined, since: s, until: u,
    };
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = readFilters();
    if (!f) {
      // The list would be a lie: say what is wrong instead of showing nothing.
      seq += 1;
      state.items = [];
      state.cursor = null;
      state.loaded = false;
      state.error = null;
      wrap.hidden = true;
      foot.hidden = true;
      errorBox.hidden = true;
      filterError.textContent = 'Fix the filter above to see entries.';
      return;
    }
    state.filters = f;
    syncAddress();
    load(false);
  });
  reset.addEventListener('click', () => {
    action.value = ''; actor.value = ''; about.value = ''; session.value = ''; since.value = ''; until.value = '';
    for (const el of [since, until, session]) fieldError(el, '');
    filterError.textContent = '';
    state.filters = {};
    syncAddress();
    load(false);
  });
  more.addEventListener('click', () => load(true));

  async function exportAs(btn, format) {
    btn.disabled = true;
    exportStatus.textContent = 'Exporting…';
    try {
      const q = new URLSearchParams({ format });
      for (const k of FILTER_KEYS) if (state.filters[k]) q.set(k, state.filters[k]);
      const res = await api.request('GET', api.t(tenant, `/audit/export?${q}`), { raw: true });
      const text = await res.text();
      const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
      const blob = new Blob([text], { type });
      const cd = res.headers.get('Content-Disposition') || '';
      const m = cd.match(/filename="?([^";]+)"?/);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const filtered = FILTER_KEYS.some((k) => state.filters[k]);
      const name = m ? m[1] : `audit-${tenant}${filtered ? '-filtered' : ''}-${stamp}.${format === 'csv' ? 'csv' : 'ndjson'}`;
      const href = URL.createObjectURL(blob);
      const a = h('a', { href, download: name, class: 'sr-only' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10000);
      const n = format === 'csv' ? Math.max(0, csvRecords(text) - 1) : text.split('\n').filter((l) => l.trim()).length;
      const chain = await verify();
      const seal = chain && chain.ok ? ` · chain verified (${count(chain.entries)} entries, head ${String(chain.head_hash || '').slice(0, 12)}…)` : chain ? ' · the chain does NOT verify' : '';
      exportStatus.textContent = `Exported ${plural(n, 'entry', 'entries')} as ${format.toUpperCase()}${filtered ? ' (the filtered view)' : ''}: ${name}${seal}`;
      exportStatus.dataset.entries = String(n);
      toast('Audit log exported.');
    } catch (e) {
      exportStatus.textContent = '';
      if (e.status !== 401) toast(`Export failed: ${e.message}`, 'error');
    } finally {
      btn.disabled = false;
    }
  }
  exportBtn.addEventListener('click', () => exportAs(exportBtn, 'ndjson'));
  exportCsv.addEventListener('click', () => exportAs(exportCsv, 'csv'));

  load(false);
  verify();
  loadUsers();
}

/** For other screens: a short list of the entries about one user, in words. */
export async function auditAbout(container, tenant, userId, names, { limit = 20 } = {}) {
  clear(container);
  const box = h('div', { id: 'user-audit-error', hidden: true });
  container.append(box);
  container.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-audit' },
    h('caption', { class: 'sr-only' }, 'Recent audit entries about this user'),
    h('tbody', { id: 'user-audit-body' }, loadingRow(2, 'Loading the audit trail…')))));
  const tbody = container.querySelector('#user-audit-body');
  let page;
  try {
    page = await api.get(api.t(tenant, '/audit'), { target_user_id: userId, limit });
  } catch (e) {
    if (e.status === 401) return;
    clear(tbody);
    container.querySelector('.table-wrap').hidden = true;
    errorBanner(box, e, 'the audit trail', () => auditAbout(container, tenant, userId, names, { limit }));
    return;
  }
  await names.resolve(page.items.flatMap(mentioned)).catch(() => false);
  clear(tbody);
  const groups = groupEntries(page.items);
  if (!groups.length) tbody.append(emptyRow(2, 'Nothing about this user in the audit log yet.'));
  for (const g of groups) {
    tbody.append(h('tr', { dataset: { seq: g.seq, action: g.action } },
      h('td', { 'data-label': 'When', title: exact(g.at) }, timeEl(g.at)),
      h('td', { 'data-label': 'What happened' }, entryCell(g, names))));
  }
}
