// Platform (global admins): organizations (create one with its first
// admin, list), access requests and grants with their outcomes, support
// sessions.

import * as api from '../api.js';
import { h, add, clear, toast, dialog, dialogField, durationField, emailProblem, stateBox, loadError } from '../dom.js';
import { timeEl, countdownEl, duration } from '../format.js';
import { grantOutcome } from './support.js';

const STATUS = {
  pending: ['Pending approval', 'pill-warn'],
  active: ['Active', 'pill-ok'],
  expired: ['Expired', 'pill-muted'],
  revoked: ['Revoked', 'pill-bad'],
  denied: ['Denied', 'pill-bad'],
};

// SPEC §2: a tenant id is its slug.
const SLUG = /^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/;
// Administrators need at least 12 characters (auth/password.rs).
const ADMIN_MIN_PASSWORD = 12;

function pill(status) {
  const [label, cls] = STATUS[status] || [status, 'pill-muted'];
  return h('span', { class: `pill ${cls}` }, label);
}

/** A readable password suggestion (20 characters, ~119 bits). */
function suggestPassword() {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function problemsText(e) {
  const d = Object.entries(e.details || {});
  if (!d.length) return e.message;
  return d.map(([k, v]) => `${k.replace(/^first_admin\./, 'first admin ').replace(/_/g, ' ')}: ${v}`).join('; ');
}

// `onSupportStarted` comes from the shell (app.js), which this view must not import.
export function renderPlatform(main, ctx, { onSupportStarted }) {
  const tenantsBody = h('tbody', { id: 'tenants-body' });
  const tenantsBox = h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'tenants-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Organization'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Your access'),
      h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tenantsBody));
  const tenantsState = h('div', { id: 'tenants-state' }, stateBox('loading', 'Loading organizations…'));
  const myPending = h('div', { id: 'my-pending' });
  const myActive = h('div', { id: 'my-active' });
  const myHistory = h('div', { id: 'my-history' });
  const grants = h('div', { id: 'my-grants' },
    h('h3', { class: 'subhead' }, 'Waiting for a decision'), myPending,
    h('h3', { class: 'subhead' }, 'Active grants'), myActive,
    h('h3', { class: 'subhead' }, 'Earlier requests and grants'), myHistory);
  const problem = h('div', { id: 'platform-error' });
  const created = h('div', { id: 'org-created' });
  const newOrg = h('button', { type: 'button', class: 'btn btn-primary', id: 'org-new' }, 'New organization');
  const notice = ctx.notice;
  ctx.notice = null;
  const me = ctx.me && ctx.me.user ? ctx.me.user.email : null;
  let timer = null;
  let loadedOnce = false;
  tenantsBox.hidden = true;
  for (const box of [myPending, myActive, myHistory]) box.append(stateBox('loading'));

  add(main, [
    h('div', { class: 'page-head page-head-row' },
      h('div', null, h('h1', null, 'Organizations'),
        h('p', { class: 'muted' }, 'Organizations on this server. You can read or change an organization’s data only through a support session on a grant its administrators approved.')),
      h('div', { class: 'head-actions' }, newOrg)),
    notice ? h('div', { class: `notice notice-${notice.kind}`, id: 'platform-notice', role: 'alert' }, notice.text) : null,
    ctx.support ? h('div', { class: 'notice notice-info' }, `You are in a support session in ${ctx.support.tenantName || ctx.support.tenant}. End it from the banner before starting another.`) : null,
    problem,
    created,
    h('section', { class: 'section' }, h('h2', null, 'All organizations'), tenantsState, tenantsBox),
    h('section', { class: 'section' }, h('h2', null, 'Your access requests and grants'), grants)]);

  async function createOrg() {
    const slug = h('input', { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', placeholder: 'acme', maxlength: 32 });
    const name = h('input', { autocomplete: 'off', maxlength: 200, placeholder: 'Acme Corporation' });
    const email = h('input', { type: 'email', autocomplete: 'off', autocapitalize: 'none', placeholder: 'it-admin@acme.example' });
    const display = h('input', { autocomplete: 'off', maxlength: 200 });
    const password = h('input', { type: 'text', autocomplete: 'new-password', spellcheck: 'false', value: suggestPassword(), class: 'mono' });
    const validate = (v) => {
      const p = {};
      if (!SLUG.test(v.slug.trim())) p.slug = '3 to 32 characters: lower-case letters, digits and inner hyphens (e.g. acme or acme-eu). It cannot be changed later.';
      if (!v.name.trim()) p.name = 'Enter the organization’s name.';
      const bad = emailProblem(v.email);
      if (bad) p.email = bad;
      if (!v.display_name.trim()) p.display_name = 'Enter the admin’s name.';
      if ([...v.password].length < ADMIN_MIN_PASSWORD) p.password = `Administrators need at least ${ADMIN_MIN_PASSWORD} characters.`;
      return p;
    };
    validate.async = (v) => api.post('/v1/platform/tenants', {
      slug: v.slug.trim(),
      name: v.name.trim(),
      first_admin: { email: v.email.trim(), display_name: v.display_name.trim(), password: v.password },
    }, { slot: 'main' }).catch((e) => {
      throw new Error(e.code === 'conflict' ? `An organization “${v.slug.trim()}” already exists; choose another short name.` : problemsText(e));
    });
    const v = await dialog({
      title: 'New organization',
      body: [h('p', { class: 'muted' }, 'Creates the organization and its first administrator, who can then sign in here and add everyone else.')],
      fields: [
        dialogField('slug', 'Short name (organization id)', slug, 'Used to sign in and in API paths; cannot be changed.'),
        dialogField('name', 'Name', name),
        dialogField('email', 'First admin’s email', email),
        dialogField('display_name', 'First admin’s name', display),
        dialogField('password', 'First admin’s initial password', password, `At least ${ADMIN_MIN_PASSWORD} characters; a random one is filled in. Hand it over safely.`),
      ],
      confirm: 'Create organization', validate,
    });
    if (!v) return;
    toast(`Created ${v.name.trim()}.`);
    clear(created).append(h('div', { class: 'notice notice-info', role: 'status', id: 'org-created-notice' },
      h('strong', null, v.name.trim()), ` was created. Its first admin, ${v.email.trim()}, signs in as organization “${v.slug.trim()}” with the password you set.`));
    load();
  }
  newOrg.addEventListener('click', createOrg);

  async function requestAccess(t) {
    const reason = h('textarea', { rows: 3, maxlength: 500, placeholder: 'e.g. ticket #4711: user cannot sign in' });
    const length = durationField('length', 'Duration', { secs: 3600, hint: 'Capped by the organization’s policy (8 h unless they changed it).' });
    const validate = (v) => {
      const p = {};
      if (!v.reason.trim()) p.reason = 'Say why you need access: the organization’s admins decide on it.';
      const secs = length.seconds();
      if (!Number.isInteger(secs) || secs < 1) p.length = 'Enter a duration, e.g. 2 hours.';
      return p;
    };
    validate.async = (v) => api.post(`/v1/platform/tenants/${encodeURIComponent(t.slug)}/access-requests`, { reason: v.reason.trim(), duration_secs: length.seconds() })
      .catch((e) => { throw new Error(Object.values(e.details || {}).join('; ') || e.message); });
    const v = await dialog({
      title: `Request support access to ${t.name}`,
      body: [h('p', { class: 'muted' }, 'Their org admins see your request under Support access and approve or deny it.')],
      fields: [dialogField('reason', 'Reason', reason), length],
      confirm: 'Send request', validate,
    });
    if (v) { toast('Request sent. You can start a support session once it is approved.'); load(); }
  }

  async function startSupport(t) {
    try {
      await api.startSupport(t.slug);
      await onSupportStarted();
    } catch (e) {
      if (e.status !== 401) toast(`Could not start a support session: ${e.message}`, 'error');
      load();
    }
  }

  function startButton(slug, tenantRec) {
    return h('button', { type: 'button', class: 'btn btn-small btn-primary', dataset: { role: 'start-support', tenant: slug }, disabled: !!ctx.support, onclick: () => startSupport(tenantRec) }, 'Start support session');
  }

  /** "Your access" for one organization: the live grant, else the latest request's outcome in words. */
  function accessCell(t, g, latest) {
    if (g) return h('span', { class: 'status-cell' }, h('span', null, h('span', { class: 'pill pill-ok' }, 'Granted'), ' ', countdownEl(g.expires_at), ' left'),
      latest && latest.id === g.id ? grantOutcome(latest, { me }) : null);
    if (!latest) return h('span', { class: 'muted' }, 'No access (never requested)');
    if (latest.status === 'pending') return h('span', { class: 'status-cell' }, pill('pending'), grantOutcome(latest, { me }));
    return h('span', { class: 'status-cell' }, pill(latest.status), grantOutcome(latest, { me }));
  }

  function grantTable(items, kind, names) {
    if (!items.length) {
      return stateBox('empty', {
        pending: 'No request of yours is waiting.',
        active: 'You have no active grant.',
        history: 'Nothing earlier.',
      }[kind]);
    }
    const body = h('tbody');
    for (const g of items) {
      const t = names.get(g.tenant);
      body.append(h('tr', { dataset: { grantId: g.id, tenant: g.tenant, status: g.status } },
        h('td', { 'data-label': 'Organization' }, h('div', null, t ? t.name : g.tenant), h('div', { class: 'muted small mono' }, g.tenant)),
        h('td', { 'data-label': 'Reason', class: 'wrap' }, g.reason),
        h('td', { 'data-label': 'Outcome', class: 'outcome-cell' }, pill(g.status), grantOutcome(g, { me })),
        h('td', { 'data-label': 'Duration' }, duration(g.duration_secs)),
        h('td', { 'data-label': 'Requested' }, timeEl(g.requested_at)),
        h('td', { class: 'cell-actions' }, kind === 'active' && t ? startButton(g.tenant, t) : null)));
    }
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null, ['Organization', 'Reason', 'Outcome', 'Duration', 'Requested', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
      body));
  }

  async function load() {
    try {
      const [tenants, mine] = await Promise.all([
        api.get('/v1/platform/tenants', null, { slot: 'main' }),
        api.all('/v1/platform/grants', {}, { slot: 'main' }),
      ]);
      const now = Date.now();
      const names = new Map(tenants.map((t) => [t.slug, t]));
      // Newest first: the first grant per tenant is the latest word on it.
      const latest = new Map();
      for (const g of mine) if (!latest.has(g.tenant)) latest.set(g.tenant, g);
      const pendingFor = new Set(mine.filter((g) => g.status === 'pending').map((g) => g.tenant));
      clear(tenantsBody);
      clear(tenantsState);
      tenantsBox.hidden = !tenants.length;
      if (!tenants.length) tenantsState.append(stateBox('empty', 'No organizations yet. Create the first one with “New organization”.'));
      for (const t of tenants) {
        const g = t.active_grant && new Date(t.active_grant.expires_at).getTime() > now ? t.active_grant : null;
        const actions = h('td', { class: 'cell-actions' });
        if (g) {
          actions.append(startButton(t.slug, t));
        } else {
          actions.append(h('button', { type: 'button', class: 'btn btn-small', dataset: { role: 'request-access', tenant: t.slug }, disabled: pendingFor.has(t.slug), onclick: () => requestAccess(t) },
            pendingFor.has(t.slug) ? 'Request pending' : 'Request access'));
        }
        const last = g ? mine.find((x) => x.id === g.id)
          : pendingFor.has(t.slug) ? mine.find((x) => x.tenant === t.slug && x.status === 'pending') : latest.get(t.slug);
        tenantsBody.append(h('tr', { dataset: { tenant: t.slug } },
          h('td', { 'data-label': 'Organization' }, h('div', null, t.name), h('div', { class: 'muted small mono' }, t.slug)),
          h('td', { 'data-label': 'Created' }, timeEl(t.created_at)),
          h('td', { 'data-label': 'Your access', class: 'access-cell' }, accessCell(t, g, last)),
          actions));
      }
      const isActive = (x) => x.status === 'active' && (!x.expires_at || new Date(x.expires_at).getTime() > now);
      clear(myPending).append(grantTable(mine.filter((x) => x.status === 'pending'), 'pending', names));
      clear(myActive).append(grantTable(mine.filter(isActive), 'active', names));
      clear(myHistory).append(grantTable(mine.filter((x) => x.status !== 'pending' && !isActive(x)).slice(0, 50), 'history', names));
      clear(problem);
      loadedOnce = true;
    } catch (e) {
      if (e.status === 401) return;
      clear(problem).append(stateBox('error', loadedOnce ? `${loadError(e)} The lists below may be out of date.` : loadError(e),
        { retry: () => { clear(problem).append(stateBox('loading', 'Trying again…')); load(); } }));
      if (!loadedOnce) {
        clear(tenantsState);
        for (const box of [myPending, myActive, myHistory]) clear(box);
      }
    }
  }

  load();
  timer = setInterval(() => { if (!document.querySelector('dialog[open]')) load(); }, 10000);
  return () => clearInterval(timer);
}
