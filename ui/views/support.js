// Support access (org admins): pending requests, active grants with a live
// countdown and "Revoke now", a direct grant form, and the history.

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, durationField, emailProblem, stateBox, loadError } from '../dom.js';
import { timeEl, countdownEl, duration } from '../format.js';

const STATUS = {
  pending: ['Pending', 'pill-warn'],
  active: ['Active', 'pill-ok'],
  expired: ['Expired', 'pill-muted'],
  revoked: ['Revoked', 'pill-bad'],
  denied: ['Denied', 'pill-muted'],
};

function pill(status) {
  const [label, cls] = STATUS[status] || [status, 'pill-muted'];
  return h('span', { class: `pill ${cls}` }, label);
}

function actorName(a) {
  return (a && (a.email || a.id)) || 'an administrator';
}

/**
 * What became of a request or grant, in words, with who and when — the
 * same sentence on the organization's side and on the platform's:
 * "Approved by alice@acme.test 5 min ago", "Denied by …", "Revoked by …",
 * "Expired 2 h ago", "Waiting for a decision since …". Never "None".
 */
export function grantOutcome(g, { now = Date.now(), me = null } = {}) {
  const line = (...parts) => h('div', { class: 'outcome', dataset: { outcome: g.status } }, parts);
  const by = (a) => h('strong', null, actorName(a));
  const decided = g.requested_by_grantee ? 'Approved by ' : 'Granted directly by ';
  switch (g.status) {
    case 'pending':
      if (me && g.grantee.email === me) return line('You asked ', timeEl(g.requested_at), '; waiting for the organization’s admins to decide');
      return line('Requested by ', h('strong', null, g.grantee.email), ' ', timeEl(g.requested_at), '; waiting for a decision');
    case 'active': {
      const ends = g.expires_at && new Date(g.expires_at).getTime() > now ? ['; ends in ', countdownEl(g.expires_at)] : [];
      return line(decided, by(g.decided_by), ' ', timeEl(g.decided_at || g.starts_at), ends);
    }
    case 'denied':
      return line('Denied by ', by(g.decided_by), ' ', timeEl(g.decided_at));
    case 'revoked':
      return line(g.ended_by ? ['Revoked by ', by(g.ended_by)] : 'Revoked', ' ', timeEl(g.ended_at),
        g.decided_by ? [' (', decided.trim().toLowerCase(), ' ', actorName(g.decided_by), ')'] : null);
    case 'expired':
      return line('Expired ', timeEl(g.ended_at || g.expires_at),
        g.decided_by ? [' (', decided.trim().toLowerCase(), ' ', actorName(g.decided_by), ')'] : null);
    default:
      return line(g.status);
  }
}

/** When the outcome happened (for an "Ended" or "Decided" column). */
export function outcomeAt(g) {
  if (g.status === 'denied') return g.decided_at;
  if (g.status === 'pending') return null;
  return g.ended_at || (g.status === 'expired' ? g.expires_at : null) || g.decided_at;
}

export function renderSupport(main, ctx) {
  const tenant = ctx.tenant;
  const pending = h('div', { id: 'grants-pending' });
  const active = h('div', { id: 'grants-active' });
  const history = h('div', { id: 'grants-history' });
  const problem = h('div', { id: 'support-error' });
  const pendingCount = h('span', { class: 'nav-badge heading-badge', id: 'support-pending-count', hidden: true });
  let loadedOnce = false;
  for (const box of [pending, active, history]) box.append(stateBox('loading', 'Loading support access…'));
  const grantBtn = h('button', { type: 'button', class: 'btn', id: 'grant-direct' }, 'Grant access…');
  let timer = null;
  let maxSecs = null;

  main.append(
    h('div', { class: 'page-head page-head-row' },
      h('div', null, h('h1', null, 'Support access'),
        h('p', { class: 'muted' }, 'Platform administrators can see or change nothing in ', h('strong', null, ctx.tenantName || tenant), ' without a grant you approve. Every grant ends on its own.')),
      h('div', { class: 'head-actions' }, grantBtn)),
    problem,
    h('section', { class: 'section' }, h('h2', null, 'Pending requests', pendingCount), pending),
    h('section', { class: 'section' }, h('h2', null, 'Active grants'), active),
    h('section', { class: 'section' }, h('h2', null, 'History'), history));

  async function decide(g, what) {
    const labels = { approve: ['Approve', false], deny: ['Deny', true], revoke: ['Revoke now', true] };
    const [label, danger] = labels[what];
    const body = [h('p', null, h('strong', null, g.grantee.email), ` — “${g.reason}”`)];
    if (what === 'approve') body.push(h('p', null, `Access starts now and ends automatically after ${duration(g.duration_secs)}.`));
    if (what === 'revoke') body.push(h('p', null, `Their ${g.support_sessions === 1 ? 'support session ends' : 'support sessions end'} immediately.`));
    const v = await dialog({ title: `${label}: support access for ${g.grantee.email}?`, body, confirm: label, danger });
    if (!v) return;
    try {
      await api.post(api.t(tenant, `/support-grants/${g.id}/${what}`));
      toast(what === 'approve' ? 'Access approved.' : what === 'deny' ? 'Request denied.' : 'Access revoked; support sessions ended.');
      window.dispatchEvent(new CustomEvent('sessiond:grants-changed'));
      load();
    } catch (e) {
      if (e.status !== 401) toast(`Could not ${what}: ${e.message}`, 'error');
    }
  }

  function table(items, kind) {
    if (!items.length) {
      const empty = { pending: 'No requests are waiting.', active: 'No one has support access right now.', history: 'No earlier grants.' }[kind];
      return stateBox('empty', empty);
    }
    const cols = kind === 'active'
      ? ['Administrator', 'Reason', 'Started', 'Time left', 'Sessions', '']
      : kind === 'pending'
        ? ['Administrator', 'Reason', 'Duration', 'Requested', '']
        : ['Administrator', 'Reason', 'Outcome', 'Duration', 'Requested', 'Ended'];
    const tbody = h('tbody');
    for (const g of items) {
      let cells;
      if (kind === 'active') {
        cells = [
          h('td', { 'data-label': 'Administrator' }, g.grantee.email),
          h('td', { 'data-label': 'Reason', class: 'wrap' }, g.reason),
          h('td', { 'data-label': 'Started' }, timeEl(g.starts_at), grantOutcome(g)),
          h('td', { 'data-label': 'Time left' }, countdownEl(g.expires_at)),
          h('td', { 'data-label': 'Sessions' }, String(g.support_sessions)),
          h('td', { class: 'cell-actions' }, h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { grantId: g.id, role: 'revoke-grant' }, onclick: () => decide(g, 'revoke') }, 'Revoke now')),
        ];
      } else if (kind === 'pending') {
        cells = [
          h('td', { 'data-label': 'Administrator' }, g.grantee.email),
          h('td', { 'data-label': 'Reason', class: 'wrap' }, g.reason),
          h('td', { 'data-label': 'Duration' }, duration(g.duration_secs)),
          h('td', { 'data-label': 'Requested' }, timeEl(g.requested_at)),
          h('td', { class: 'cell-actions' },
            h('button', { type: 'button', class: 'btn btn-small btn-primary', onclick: () => decide(g, 'approve') }, 'Approve'),
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => decide(g, 'deny') }, 'Deny')),
        ];
      } else {
        cells = [
          h('td', { 'data-label': 'Administrator' }, g.grantee.email),
          h('td', { 'data-label': 'Reason', class: 'wrap' }, g.reason),
          h('td', { 'data-label': 'Outcome', class: 'outcome-cell' }, pill(g.status), grantOutcome(g)),
          h('td', { 'data-label': 'Duration' }, duration(g.duration_secs)),
          h('td', { 'data-label': 'Requested' }, timeEl(g.requested_at)),
          h('td', { 'data-label': 'Ended' }, timeEl(outcomeAt(g))),
        ];
      }
      tbody.append(h('tr', { dataset: { grantId: g.id, status: g.status } }, cells));
    }
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c ? c : h('span', { class: 'sr-only' }, 'Actions'))))), tbody));
  }

  async function load() {
    try {
      const list = await api.all(api.t(tenant, '/support-grants'));
      const now = Date.now();
      const isActive = (g) => g.status === 'active' && (!g.expires_at || new Date(g.expires_at).getTime() > now);
      const waiting = list.filter((g) => g.status === 'pending');
      clear(pending).append(table(waiting, 'pending'));
      pendingCount.hidden = !waiting.length;
      pendingCount.textContent = String(waiting.length);
      clear(active).append(table(list.filter(isActive), 'active'));
      clear(history).append(table(list.filter((g) => g.status !== 'pending' && !isActive(g)), 'history'));
      clear(problem);
      loadedOnce = true;
    } catch (e) {
      if (e.status === 401) return;
      // An error is not an empty list: say so, keep what was shown, offer Retry.
      clear(problem).append(stateBox('error', loadedOnce ? `${loadError(e)} The lists below may be out of date.` : loadError(e), { retry: () => { clear(problem).append(stateBox('loading', 'Trying again…')); load(); } }));
      if (!loadedOnce) for (const box of [pending, active, history]) clear(box);
    }
  }

  grantBtn.addEventListener('click', async () => {
    if (maxSecs === null) {
      try { maxSecs = (await api.get(api.t(tenant, '/policy'))).max_support_grant_secs; } catch { maxSecs = 8 * 3600; }
    }
    const email = h('input', { type: 'email', autocomplete: 'off' });
    const length = durationField('length', 'Duration', { secs: Math.min(3600, maxSecs), hint: `At most ${duration(maxSecs)} (policy).` });
    const reason = h('textarea', { rows: 2, maxlength: 500 });
    const validate = (v) => {
      const p = {};
      const bad = emailProblem(v.email);
      if (bad) p.email = bad;
      const secs = length.seconds();
      if (!Number.isInteger(secs) || secs < 1 || secs > maxSecs) p.length = `Between 1 second and ${duration(maxSecs)} (the policy’s maximum).`;
      if (!v.reason.trim()) p.reason = 'Say why.';
      return p;
    };
    validate.async = (v) => api.post(api.t(tenant, '/support-grants'), { grantee_email: v.email.trim(), duration_secs: length.seconds(), reason: v.reason.trim() })
      .catch((e) => { throw new Error(Object.values(e.details || {}).join('; ') || e.message); });
    const v = await dialog({
      title: 'Grant support access',
      body: [h('p', { class: 'muted' }, 'Access starts now and ends automatically.')],
      fields: [dialogField('email', 'Platform administrator email', email), length, dialogField('reason', 'Reason', reason)],
      confirm: 'Grant access', validate,
    });
    if (v) { toast('Access granted.'); window.dispatchEvent(new CustomEvent('sessiond:grants-changed')); load(); }
  });

  load();
  timer = setInterval(() => { if (!document.querySelector('dialog[open]')) load(); }, 10000);
  return () => clearInterval(timer);
}
