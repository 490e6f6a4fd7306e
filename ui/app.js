// sessiond admin UI: shell, routing, sign-in state and support mode.

import * as api from './api.js';
import { h, clear, toast, confirmLeave, setLeaveGuard } from './dom.js';
import { tick, countdown, exact } from './format.js';
import { renderSignIn } from './views/signin.js';
import { renderSessions } from './views/sessions.js';
import { renderUsers, renderUser } from './views/users.js';
import { renderAudit } from './views/audit.js';
import { renderSupport } from './views/support.js';
import { renderPolicy } from './views/policy.js';
import { renderPlatform } from './views/platform.js';
import { renderClients } from './views/clients.js';
import { renderDevices } from './views/devices.js';

/** What the views know about who is signed in and which tenant they act on. */
export const ctx = {
  me: null,
  tenant: null,
  tenantName: null,
  platform: false,
  member: false, // a member (not an admin): only their own devices
  support: null, // {tenant, tenantName, expiresAt, grantId}
  notice: null, // one-shot message for the next screen
  pending: 0, // support-access requests waiting for this org admin
};

const root = document.getElementById('app');
let cleanup = null;
let supportTimers = [];
let pendingTimer = null;
let offlineTimer = null;
let currentPath = null;

const TENANT_NAV = [
  ['/sessions', 'Sessions'],
  ['/users', 'Users'],
  ['/audit', 'Audit log'],
  ['/support', 'Support access'],
  ['/clients', 'Service clients'],
  ['/policy', 'Policy'],
];

const DEVICES = ['/devices', 'Your devices'];

function navItems() {
  if (ctx.member) return [DEVICES];
  if (ctx.platform && ctx.support) {
    return [...TENANT_NAV.filter(([p]) => p !== '/support'), ['/platform', 'Organizations'], DEVICES];
  }
  if (ctx.platform) return [['/platform', 'Organizations'], DEVICES];
  return [...TENANT_NAV, DEVICES];
}

function defaultPath() {
  if (ctx.member) return '/devices';
  return ctx.platform && !ctx.support ? '/platform' : '/sessions';
}

const routes = [
  [/^\/sessions$/, (m) => renderSessions(m, ctx)],
  [/^\/users$/, (m) => renderUsers(m, ctx)],
  [/^\/users\/([0-9a-f-]{36})$/, (m, [id]) => renderUser(m, ctx, id)],
  [/^\/audit$/, (m) => renderAudit(m, ctx)],
  [/^\/support$/, (m) => renderSupport(m, ctx)],
  [/^\/policy$/, (m) => renderPolicy(m, ctx)],
  [/^\/clients$/, (m) => renderClients(m, ctx)],
  [/^\/platform$/, (m) => renderPlatform(m, ctx, { onSupportStarted: startedSupport })],
  [/^\/devices$/, (m) => renderDevices(m, ctx, { signOutHere: signOut })],
];

/**
 * Go to `path` inside the app. A screen with unsaved changes is asked first
 * (see dom.js setLeaveGuard); `force` skips that (the session or the
 * support grant ended: there is nothing to stay for). Resolves false when
 * the admin chose to stay.
 */
export async function navigate(path, { replace = false, force = false } = {}) {
  if (!force && !(await confirmLeave())) return false;
  if (replace) history.replaceState(null, '', path);
  else if (location.pathname + location.search !== path) history.pushState(null, '', path);
  route();
  return true;
}

function allowed(path) {
  // Members see their own devices and nothing of the organization's.
  if (ctx.member) return path === '/devices';
  if (path === '/devices') return true;
  if (path === '/platform') return ctx.platform;
  if (ctx.platform && !ctx.support) return false;
  if (path === '/support' && ctx.support) return false;
  return true;
}

function route() {
  if (!api.signedIn()) return;
  let path = location.pathname;
  if (!allowed(path) || !routes.some(([re]) => re.test(path))) {
    path = defaultPath();
    history.replaceState(null, '', path);
  }
  renderShell();
  setNavOpen(false);
  const main = document.getElementById('main');
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  setLeaveGuard(null);
  currentPath = location.pathname + location.search;
  renderShellNotices();
  clear(main);
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) {
      const result = view(main, m.slice(1));
      if (typeof result === 'function') cleanup = result;
      break;
    }
  }
  markNav(path);
  const heading = main.querySelector('h1');
  if (heading && document.activeElement === document.body) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

function who() {
  const u = ctx.me && ctx.me.user;
  if (!u) return '';
  return u.display_name ? `${u.display_name} · ${u.email}` : u.email;
}

let shellBuilt = false;
function renderShell() {
  if (shellBuilt && document.getElementById('main')) {
    updateChrome();
    return;
  }
  clear(root);
  root.className = 'app';
  root.append(
    h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
    h('div', { id: 'support-banner', class: 'support-banner', role: 'status', hidden: true }),
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: defaultPath(), 'data-nav': '' },
        h('img', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), h('span', { class: 'brand-name' }, 'sessiond')),
      h('span', { id: 'scope-label', class: 'scope-label' }),
      h('span', { class: 'spacer' }),
      h('span', { id: 'who', class: 'who' }),
      // Phone widths: the nav folds behind this button (CSS hides it on wide screens).
      h('button', { type: 'button', class: 'btn btn-ghost nav-toggle', id: 'nav-toggle', 'aria-controls': 'main-nav', 'aria-expanded': 'false', onclick: () => setNavOpen(!navOpen()) },
        h('span', { class: 'nav-toggle-icon', 'aria-hidden': 'true' }), 'Menu',
        h('span', { id: 'nav-toggle-badge', class: 'nav-badge', hidden: true, 'aria-hidden': 'true' })),
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'sign-out', onclick: signOut }, 'Sign out')),
    h('div', { id: 'offline-banner', class: 'offline-banner', role: 'alert', hidden: true }),
    h('div', { class: 'layout' },
      h('nav', { class: 'nav', id: 'main-nav', 'aria-label': 'Main' }, h('ul', { id: 'nav-list' }),
        h('p', { class: 'nav-foot' }, h('a', { href: '/api-docs' }, 'API reference')),
        h('button', { type: 'button', class: 'btn btn-small nav-signout', id: 'nav-sign-out', onclick: signOut }, 'Sign out')),
      h('div', { class: 'main-col' },
        h('div', { id: 'shell-notices', class: 'shell-notices', hidden: true }),
        h('main', { id: 'main', class: 'main', tabindex: '-1' }))),
  );
  shellBuilt = true;
  updateChrome();
}

function updateChrome() {
  const list = document.getElementById('nav-list');
  clear(list);
  for (const [path, label] of navItems()) {
    const badge = path === '/support' && !ctx.platform ? pendingBadge('nav-pending-badge') : null;
    list.append(h('li', null, h('a', { href: path, 'data-nav': '' }, label, badge)));
  }
  const toggleBadge = document.getElementById('nav-toggle-badge');
  toggleBadge.hidden = !(ctx.pending > 0 && !ctx.platform);
  toggleBadge.textContent = String(ctx.pending);
  // The kind ("Organization ·") folds away on phones; the name always shows.
  const scope = clear(document.getElementById('scope-label'));
  const [kind, name] = ctx.support ? ['Support · ', ctx.support.tenantName || ctx.support.tenant]
    : ctx.platform ? ['', 'Platform administration']
      : ['Organization · ', ctx.tenantName || ctx.tenant];
  scope.append(kind ? h('span', { class: 'scope-kind' }, kind) : '', h('span', { class: 'scope-name', id: 'scope-name' }, name));
  scope.title = kind + name;
  document.getElementById('who').textContent = who();
  renderBanner();
}

/** The count of pending support requests, or nothing when there are none. */
function pendingBadge(id) {
  if (!(ctx.pending > 0) || ctx.platform) return null;
  const n = ctx.pending;
  return h('span', { class: 'nav-badge', id, dataset: { count: String(n) }, title: `${n} support-access request${n === 1 ? '' : 's'} waiting for your decision` },
    h('span', { 'aria-hidden': 'true' }, String(n)),
    h('span', { class: 'sr-only' }, `, ${n} pending request${n === 1 ? '' : 's'}`));
}

function navOpen() {
  return root.classList.contains('nav-open');
}

function setNavOpen(open) {
  const btn = document.getElementById('nav-toggle');
  if (!btn) return;
  root.classList.toggle('nav-open', open);
  btn.setAttribute('aria-expanded', open ? 'true' : 'false');
}

/**
 * Notices the shell puts above the current screen: on the sessions page,
 * the support-access requests waiting for a decision.
 */
function renderShellNotices() {
  const box = document.getElementById('shell-notices');
  if (!box) return;
  clear(box);
  const n = ctx.pending;
  if (n > 0 && !ctx.platform && location.pathname === '/sessions') {
    box.append(h('div', { class: 'notice notice-warn notice-row', id: 'pending-notice', role: 'status' },
      h('span', null, h('strong', null, n === 1 ? '1 support-access request' : `${n} support-access requests`),
        n === 1 ? ' from a platform administrator is waiting for your decision.' : ' from platform administrators are waiting for your decision.'),
      h('a', { href: '/support', 'data-nav': '', class: 'btn btn-small', id: 'pending-review' }, 'Review')));
  }
  box.hidden = !box.firstChild;
}

function setPending(n) {
  if (n === ctx.pending) return;
  ctx.pending = n;
  if (!document.getElementById('nav-list')) return;
  // In place, so a keyboard user's focus in the nav stays where it is.
  const link = document.querySelector('#nav-list a[href="/support"]');
  if (link) {
    const old = document.getElementById('nav-pending-badge');
    if (old) old.remove();
    const badge = pendingBadge('nav-pending-badge');
    if (badge) link.append(badge);
  }
  const toggleBadge = document.getElementById('nav-toggle-badge');
  if (toggleBadge) {
    toggleBadge.hidden = !(n > 0 && !ctx.platform);
    toggleBadge.textContent = String(n);
  }
  renderShellNotices();
}

/** Count the pending support requests (org admins only: support sessions may not list grants). */
async function refreshPending() {
  if (!api.signedIn() || ctx.platform || ctx.member || !ctx.tenant) return setPending(0);
  try {
    const list = await api.all(api.t(ctx.tenant, '/support-grants'), {}, { slot: 'main' });
    setPending(list.filter((g) => g.status === 'pending').length);
  } catch (e) {
    // Keep the last count: the offline banner tells about an unreachable server.
  }
}

function startPendingWatch() {
  stopPendingWatch();
  refreshPending();
  pendingTimer = setInterval(refreshPending, 5000);
}

function stopPendingWatch() {
  if (pendingTimer) clearInterval(pendingTimer);
  pendingTimer = null;
  ctx.pending = 0;
}

function markNav(path) {
  for (const a of document.querySelectorAll('.nav a')) {
    const active = path === a.getAttribute('href') || path.startsWith(a.getAttribute('href') + '/');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// ---- server unreachable: one banner with Retry, never an empty screen ----

function showOffline(checking) {
  const b = document.getElementById('offline-banner');
  if (!b) return;
  clear(b);
  b.append(
    h('span', { class: 'offline-text' }, h('strong', null, 'The server cannot be reached.'),
      ' What you see may be out of date, and changes cannot be saved until it answers again.'),
    h('button', { type: 'button', class: 'btn btn-small', id: 'offline-retry', disabled: !!checking, onclick: retryServer }, checking ? 'Checking…' : 'Retry'));
  b.hidden = false;
  if (!offlineTimer) offlineTimer = setInterval(async () => { if (await api.probe()) hideOffline(); }, 5000);
}

function hideOffline() {
  if (offlineTimer) clearInterval(offlineTimer);
  offlineTimer = null;
  const b = document.getElementById('offline-banner');
  if (b) { clear(b); b.hidden = true; }
}

async function retryServer() {
  showOffline(true);
  if (await api.probe()) {
    hideOffline();
    toast('The server answers again.');
    // Draw the current screen again from fresh data.
    if (api.signedIn() && document.getElementById('main')) route();
  } else {
    showOffline(false);
    toast('Still no answer from the server.', 'warn');
  }
}

function renderBanner() {
  const b = document.getElementById('support-banner');
  if (!b) return;
  clear(b);
  if (!ctx.support) {
    b.hidden = true;
    document.body.classList.remove('in-support');
    return;
  }
  document.body.classList.add('in-support');
  b.hidden = false;
  // On a phone only the essentials show (support-long folds away): the
  // banner stays one line.
  b.append(
    h('span', { class: 'support-text' }, h('strong', null, 'Support mode'),
      h('span', { class: 'support-long' }, ' — acting inside '), h('span', { class: 'support-short', 'aria-hidden': 'true' }, ' · '),
      h('strong', { id: 'support-tenant', class: 'support-tenant' }, ctx.support.tenantName || ctx.support.tenant),
      h('span', { class: 'support-long' }, ' on a support grant; their audit log records everything.'),
      h('span', { class: 'support-left-label' }, ' Time left: '),
    h('strong', { id: 'support-left', class: 'countdown', dataset: { countdown: ctx.support.expiresAt || '' }, title: exact(ctx.support.expiresAt) },
      ctx.support.expiresAt ? countdown(ctx.support.expiresAt) : 'unknown')),
    h('button', { type: 'button', class: 'btn btn-small btn-on-dark', id: 'end-support', onclick: endSupportClicked },
      'End', h('span', { class: 'support-long' }, ' support session')),
  );
}

async function endSupportClicked() {
  await api.logout('support');
  leaveSupport('You ended the support session.');
}

function stopSupportWatch() {
  for (const t of supportTimers) clearInterval(t);
  supportTimers = [];
}

function leaveSupport(message) {
  stopSupportWatch();
  const was = ctx.support;
  ctx.support = null;
  ctx.tenant = null;
  if (!api.signedIn()) return;
  ctx.notice = { kind: 'warn', text: message || 'Support access ended.', tenant: was && was.tenant };
  navigate('/platform', { force: true });
}

/** Enter support mode (the support slot holds a session). */
export async function enterSupport() {
  const me = await api.get('/v1/browser/me', null, { slot: 'support' });
  const tenant = me.tenant;
  let expiresAt = null;
  let grantId = null;
  const tenantName = me.tenant_name;
  try {
    const grants = await api.all('/v1/platform/grants', {}, { slot: 'main' });
    const g = grants.find((x) => x.tenant === tenant && x.status === 'active');
    if (g) { expiresAt = g.expires_at; grantId = g.id; }
  } catch (e) {
    console.warn(e);
  }
  ctx.support = { tenant, tenantName, expiresAt, grantId, sessionId: me.session_id };
  ctx.tenant = tenant;
  stopSupportWatch();
  // The countdown ends support mode the moment the grant ends...
  supportTimers.push(setInterval(() => {
    if (ctx.support && ctx.support.expiresAt && Date.now() >= new Date(ctx.support.expiresAt).getTime()) {
      api.dropSupport('Support access ended: the grant expired.');
    }
  }, 1000));
  // ...and a cheap check notices a revoked grant within seconds.
  supportTimers.push(setInterval(() => {
    if (ctx.support) api.get('/v1/browser/me', null, { slot: 'support' }).catch(() => {});
  }, 3000));
}

async function signOut() {
  if (!(await confirmLeave())) return;
  stopSupportWatch();
  if (api.inSupport()) await api.logout('support');
  await api.logout('main');
  showSignIn({ kind: 'info', text: 'You signed out.' });
}

function resetCtx() {
  ctx.me = null;
  ctx.tenant = null;
  ctx.tenantName = null;
  ctx.platform = false;
  ctx.member = false;
  ctx.support = null;
  ctx.notice = null;
  ctx.pending = 0;
}

export function showSignIn(message) {
  stopSupportWatch();
  stopPendingWatch();
  hideOffline();
  setLeaveGuard(null);
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  resetCtx();
  shellBuilt = false;
  document.body.classList.remove('in-support');
  clear(root);
  root.className = 'app app-signin';
  if (location.pathname !== '/signin') history.replaceState({ after: location.pathname + location.search }, '', '/signin');
  renderSignIn(root, { message, onSignedIn: () => afterSignIn(false) });
}

async function afterSignIn(resumeSupport) {
  const me = await api.get('/v1/browser/me', null, { slot: 'main' });
  resetCtx();
  ctx.me = me;
  if (me.user.role === 'global_admin') {
    ctx.platform = true;
    if (resumeSupport) {
      const back = await api.resume('support').catch(() => false);
      if (back) {
        try { await enterSupport(); } catch (e) { console.warn(e); }
      }
    }
  } else if (me.user.role === 'org_admin') {
    ctx.tenant = me.tenant;
    ctx.tenantName = me.tenant_name;
    startPendingWatch();
  } else {
    // A member: their own devices only (the server refuses them every admin route anyway).
    ctx.member = true;
    ctx.tenant = me.tenant;
    ctx.tenantName = me.tenant_name;
  }
  const want = history.state && history.state.after;
  // A reloaded or bookmarked page keeps its filters (the query string).
  let path = location.pathname === '/signin' || location.pathname === '/' ? (want || defaultPath()) : location.pathname + location.search;
  if (path === '/signin' || path === '/') path = defaultPath();
  navigate(path, { replace: true, force: true });
}

/** Called by the platform view after a support session started. */
export async function startedSupport() {
  await enterSupport();
  await navigate('/sessions', { force: true });
  toast(`Support session started in ${ctx.support.tenantName || ctx.support.tenant}.`);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});

window.addEventListener('popstate', async () => {
  if (!api.signedIn()) return;
  const to = location.pathname + location.search;
  if (currentPath && to !== currentPath && !(await confirmLeave())) {
    // Stay: put the screen's address back.
    history.pushState(null, '', currentPath);
    return;
  }
  route();
});

document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || !navOpen() || document.querySelector('dialog[open]')) return;
  setNavOpen(false);
  const btn = document.getElementById('nav-toggle');
  if (btn) btn.focus();
});

// A view changed a grant (support.js): recount at once instead of at the next poll.
window.addEventListener('sessiond:grants-changed', () => refreshPending());

api.on('signedout', (message) => showSignIn({ kind: 'warn', text: message }));
api.on('supportended', (message) => leaveSupport(message));
api.on('unreachable', () => { if (document.getElementById('main') && api.signedIn()) showOffline(false); });
api.on('reachable', () => hideOffline());

setInterval(tick, 1000);

async function boot() {
  let ok = false;
  try {
    ok = await api.resume('main');
  } catch (e) {
    showSignIn({ kind: 'error', text: 'The server could not be reached. Check your connection, then retry.', retry: boot });
    return;
  }
  if (!ok) {
    showSignIn(null);
    return;
  }
  try {
    await afterSignIn(true);
  } catch (e) {
    if (api.signedIn()) showSignIn({ kind: 'error', text: e.message });
  }
}

boot();
