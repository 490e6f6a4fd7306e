// sessiond admin UI: shell, routing, sign-in state and support mode.

import * as api from './api.js';
import { h, clear, toast } from './dom.js';
import { tick, countdown, exact } from './format.js';
import { renderSignIn } from './views/signin.js';
import { renderSessions } from './views/sessions.js';
import { renderUsers, renderUser } from './views/users.js';
import { renderAudit } from './views/audit.js';
import { renderSupport } from './views/support.js';
import { renderPolicy } from './views/policy.js';
import { renderPlatform } from './views/platform.js';

/** What the views know about who is signed in and which tenant they act on. */
export const ctx = {
  me: null,
  tenant: null,
  tenantName: null,
  platform: false,
  support: null, // {tenant, tenantName, expiresAt, grantId}
  notice: null, // one-shot message for the next screen
};

const root = document.getElementById('app');
let cleanup = null;
let supportTimers = [];

const TENANT_NAV = [
  ['/sessions', 'Sessions'],
  ['/users', 'Users'],
  ['/audit', 'Audit log'],
  ['/support', 'Support access'],
  ['/policy', 'Policy'],
];

function navItems() {
  if (ctx.platform && ctx.support) {
    return [...TENANT_NAV.filter(([p]) => p !== '/support'), ['/platform', 'Platform']];
  }
  if (ctx.platform) return [['/platform', 'Platform']];
  return TENANT_NAV;
}

function defaultPath() {
  return ctx.platform && !ctx.support ? '/platform' : '/sessions';
}

const routes = [
  [/^\/sessions$/, (m) => renderSessions(m, ctx)],
  [/^\/users$/, (m) => renderUsers(m, ctx)],
  [/^\/users\/([0-9a-f-]{36})$/, (m, [id]) => renderUser(m, ctx, id)],
  [/^\/audit$/, (m) => renderAudit(m, ctx)],
  [/^\/support$/, (m) => renderSupport(m, ctx)],
  [/^\/policy$/, (m) => renderPolicy(m, ctx)],
  [/^\/platform$/, (m) => renderPlatform(m, ctx, { onSupportStarted: startedSupport })],
];

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else if (location.pathname + location.search !== path) history.pushState(null, '', path);
  route();
}

function allowed(path) {
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
  const main = document.getElementById('main');
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  clear(main);
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) {
      const result = view(main, m.slice(1));
      if (typeof result === 'function') cleanup = result;
      break;
    }
  }
  for (const a of document.querySelectorAll('.nav a')) {
    const active = path === a.getAttribute('href') || path.startsWith(a.getAttribute('href') + '/');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
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
        h('img', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), h('span', null, 'sessiond')),
      h('span', { id: 'scope-label', class: 'scope-label' }),
      h('span', { class: 'spacer' }),
      h('span', { id: 'who', class: 'who' }),
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'sign-out', onclick: signOut }, 'Sign out')),
    h('div', { class: 'layout' },
      h('nav', { class: 'nav', 'aria-label': 'Main' }, h('ul', { id: 'nav-list' }),
        h('p', { class: 'nav-foot' }, h('a', { href: '/api-docs' }, 'API reference'))),
      h('main', { id: 'main', class: 'main', tabindex: '-1' })),
  );
  shellBuilt = true;
  updateChrome();
}

function updateChrome() {
  const list = document.getElementById('nav-list');
  clear(list);
  for (const [path, label] of navItems()) {
    list.append(h('li', null, h('a', { href: path, 'data-nav': '' }, label)));
  }
  const scope = document.getElementById('scope-label');
  if (ctx.support) scope.textContent = `Support · ${ctx.support.tenantName || ctx.support.tenant}`;
  else if (ctx.platform) scope.textContent = 'Platform administration';
  else scope.textContent = `Organization · ${ctx.tenantName || ctx.tenant}`;
  document.getElementById('who').textContent = who();
  renderBanner();
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
  b.append(
    h('span', { class: 'support-text' }, h('strong', null, 'Support mode'), ' — acting inside ',
      h('strong', { id: 'support-tenant' }, ctx.support.tenantName || ctx.support.tenant),
      ' on a support grant; their audit log records everything. Time left: ',
    h('strong', { id: 'support-left', class: 'countdown', dataset: { countdown: ctx.support.expiresAt || '' }, title: exact(ctx.support.expiresAt) },
      ctx.support.expiresAt ? countdown(ctx.support.expiresAt) : 'unknown')),
    h('button', { type: 'button', class: 'btn btn-small btn-on-dark', id: 'end-support', onclick: endSupportClicked }, 'End support session'),
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
  navigate('/platform');
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
  ctx.support = null;
  ctx.notice = null;
}

export function showSignIn(message) {
  stopSupportWatch();
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  resetCtx();
  shellBuilt = false;
  document.body.classList.remove('in-support');
  clear(root);
  root.className = 'app app-signin';
  if (location.pathname !== '/signin') history.replaceState({ after: location.pathname }, '', '/signin');
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
  } else if (me.user.role !== 'org_admin') {
    return showNotAdmin(me);
  } else {
    ctx.tenant = me.tenant;
    ctx.tenantName = me.tenant_name;
  }
  const want = history.state && history.state.after;
  let path = location.pathname === '/signin' || location.pathname === '/' ? (want || defaultPath()) : location.pathname;
  if (path === '/signin' || path === '/') path = defaultPath();
  navigate(path, { replace: true });
}

function showNotAdmin(me) {
  clear(root);
  root.className = 'app app-signin';
  root.append(h('main', { class: 'signin-card', id: 'main' },
    h('h1', null, 'No administrator rights'),
    h('p', null, `You are signed in as ${me.user.email}, a member of ${me.tenant_name || me.tenant}. This console is for organization administrators.`),
    h('button', { type: 'button', class: 'btn btn-primary', onclick: signOut }, 'Sign out')));
}

/** Called by the platform view after a support session started. */
export async function startedSupport() {
  await enterSupport();
  navigate('/sessions');
  toast(`Support session started in ${ctx.support.tenantName || ctx.support.tenant}.`);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});

window.addEventListener('popstate', () => route());

api.on('signedout', (message) => showSignIn({ kind: 'warn', text: message }));
api.on('supportended', (message) => leaveSupport(message));

setInterval(tick, 1000);

async function boot() {
  let ok = false;
  try {
    ok = await api.resume('main');
  } catch (e) {
    showSignIn({ kind: 'error', text: 'The server could not be reached. Check your connection and reload.' });
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
