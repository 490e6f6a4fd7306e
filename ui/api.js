// The one client of sessiond's public API. Contract (DESIGN §5, SPEC §3):
// - access tokens live in this module's memory only (never localStorage);
// - refresh tokens live in HttpOnly __Host- cookies set by /v1/browser/*,
//   out of JavaScript's reach; every cookie call carries X-Sessiond-Csrf: 1;
// - on `token_expired`: refresh once (serialised across tabs), retry once;
// - on any other 401: drop the session and report why (never retry
//   `session_revoked`).

const CSRF = { 'X-Sessiond-Csrf': '1' };

/** @type {{main: null|{token:string, sessionId:string}, support: null|{token:string, sessionId:string}}} */
const slots = { main: null, support: null };
const inflight = { main: null, support: null };
const listeners = { signedout: new Set(), supportended: new Set(), unreachable: new Set(), reachable: new Set() };
let refreshes = 0;
let unreachable = false;

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || 'http_' + status;
    this.revokedReason = body && body.revoked_reason;
    this.details = (body && body.details) || {};
    this.retryable = !!(body && body.retryable);
    this.retryAfter = retryAfter;
    /** 409 session_limit_reached: the policy's max_sessions_per_user. */
    this.limit = body && Number.isInteger(body.limit) ? body.limit : undefined;
  }
}

/** Subscribe: 'signedout' (reason message), 'supportended' (reason message),
 * 'unreachable' (a request found no server) or 'reachable' (one got an answer again). */
export function on(event, fn) {
  listeners[event].add(fn);
  return () => listeners[event].delete(fn);
}

function emit(event, arg) {
  for (const fn of listeners[event]) {
    try { fn(arg); } catch (e) { console.error(e); }
  }
}

/** A sentence for the sign-in screen explaining why the session ended. */
export function reasonMessage(err) {
  if (!err) return '';
  if (err.code === 'session_revoked') {
    switch (err.revokedReason) {
      case 'admin_revoked':
      case 'bulk_revoked':
      case 'user_sessions_revoked':
        return 'Your session was revoked by an administrator.';
      case 'user_disabled':
        return 'Your account was disabled by an administrator.';
      case 'password_changed':
        return 'Your password was changed. Sign in with the new password.';
      case 'grant_expired':
      case 'grant_revoked':
        return 'Support access ended.';
      case 'refresh_token_reuse':
        return 'Your session was ended because its refresh token was used twice (possible token theft). Sign in again.';
      case 'user_logout':
        return 'You were signed out.';
      case 'user_revoked_other':
        return 'You signed this device out from another of your devices.';
      case 'session_limit':
        return 'You were signed out here because you signed in on another device and your organization limits how many sessions one person may have.';
      default:
        return 'Your session was revoked.';
    }
  }
  switch (err.code) {
    case 'session_expired':
      return 'Your session timed out. Sign in again.';
    case 'refresh_token_reused':
      return 'Your session was ended because its refresh token was used twice (possible token theft). Sign in again.';
    case 'invalid_credentials':
      return 'Wrong organization, email or password.';
    case 'rate_limited':
      return `Too many attempts. Try again in ${err.retryAfter || 'a few'} seconds.`;
    case 'session_limit_reached':
      return sessionLimitMessage(err.limit);
    default:
      return 'Your session has ended. Sign in again.';
  }
}

/** The sign-in refused because the user holds the policy's maximum of sessions (409). */
export function sessionLimitMessage(limit) {
  const held = Number.isInteger(limit)
    ? `You already have ${limit} active session${limit === 1 ? '' : 's'}, the most your organization allows.`
    : 'You already have as many active sessions as your organization allows.';
  return `${held} Sign out on one of your other devices (or ask an administrator to end one of your sessions), then sign in again.`;
}

function url(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function send(method, path, { body, token, headers, raw } = {}) {
  const h = { Accept: 'application/json', ...(headers || {}) };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    if (!unreachable) { unreachable = true; emit('unreachable'); }
    throw new ApiError(0, { error: 'network', message: 'The server could not be reached.', retryable: true });
  }
  if (unreachable) { unreachable = false; emit('reachable'); }
  if (res.ok && raw) return res;
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const ra = Number(res.headers.get('Retry-After')) || undefined;
    throw new ApiError(res.status, data, ra);
  }
  return data;
}

/** Run `fn` holding a cross-tab lock so two tabs never spend the same refresh token. */
async function withLock(name, fn) {
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request(name, fn);
  }
  return fn();
}

function keep(slot, answer) {
  slots[slot] = { token: answer.access_token, sessionId: answer.session_id };
  return slots[slot];
}

/** Exchange the slot's cookie for a fresh access token (rotating the cookie). */
export function refresh(slot = 'main') {
  if (!inflight[slot]) {
    inflight[slot] = withLock('sessiond-refresh-' + slot, () =>
      send('POST', '/v1/browser/refresh', { body: { slot }, headers: CSRF }))
      .then((answer) => {
        refreshes += 1;
        document.documentElement.dataset.tokenRefreshes = String(refreshes);
        return keep(slot, answer);
      })
      .finally(() => { inflight[slot] = null; });
  }
  return inflight[slot];
}

/** On page load: is there a session behind the cookie? */
export async function resume(slot = 'main') {
  try {
    await refresh(slot);
    return true;
  } catch (e) {
    slots[slot] = null;
    if (e instanceof ApiError && e.status === 401) return false;
    throw e;
  }
}

export async function login(tenant, email, password) {
  const answer = await send('POST', '/v1/browser/login', { body: { tenant, email, password }, headers: CSRF });
  slots.support = null;
  return keep('main', answer);
}

export async function platformLogin(email, password) {
  const answer = await send('POST', '/v1/browser/platform-login', { body: { email, password }, headers: CSRF });
  slots.support = null;
  return keep('main', answer);
}

/** Sign out: revoke the session server-side and clear its cookie. */
export async function logout(slot = 'main') {
  const s = slots[slot];
  slots[slot] = null;
  try {
    await send('POST', '/v1/browser/logout', { body: { slot }, token: s && s.token, headers: CSRF });
  } catch (e) {
    console.warn('logout', e);
  }
}

/** Start a support session in `tenant`: the refresh token in the answer is
 * handed straight to /v1/browser/adopt (which spends it and sets the cookie),
 * so no usable refresh token stays in this page. */
export async function startSupport(tenant) {
  let pair = await request('POST', `/v1/platform/tenants/${encodeURIComponent(tenant)}/support-sessions`, { slot: 'main' });
  const adopted = await send('POST', '/v1/browser/adopt', { body: { refresh_token: pair.refresh_token, slot: 'support' }, headers: CSRF });
  pair = null;
  return keep('support', adopted);
}

/** Is the server answering? A cheap probe (no token) that also updates the 'reachable' state. */
export async function probe() {
  try {
    await send('GET', '/healthz');
    return true;
  } catch (e) {
    return e instanceof ApiError && e.status !== 0;
  }
}

export function isUnreachable() {
  return unreachable;
}

export const del = (path, opts = {}) => request('DELETE', path, opts);

export function inSupport() {
  return !!slots.support;
}

export function signedIn() {
  return !!slots.main;
}

export function currentSessionId(slot) {
  const s = slots[slot || (slots.support ? 'support' : 'main')];
  return s ? s.sessionId : null;
}

/** Forget the support session locally (the grant ended) and clear its cookie. */
export async function dropSupport(message) {
  if (!slots.support) return;
  await logout('support');
  emit('supportended', message || 'Support access ended.');
}

function lost(slot, err) {
  if (slot === 'support') {
    const msg = reasonMessage(err);
    slots.support = null;
    // Clear the cookie; the session is already dead server-side.
    send('POST', '/v1/browser/logout', { body: { slot: 'support' }, headers: CSRF }).catch(() => {});
    emit('supportended', msg === 'Your session has ended. Sign in again.' ? 'Support access ended.' : msg);
    return;
  }
  slots.main = null;
  if (slots.support) {
    slots.support = null;
    send('POST', '/v1/browser/logout', { body: { slot: 'support' }, headers: CSRF }).catch(() => {});
  }
  emit('signedout', reasonMessage(err));
}

function slotFor(path) {
  if (slots.support && !path.startsWith('/v1/platform/')) return 'support';
  return 'main';
}

/**
 * An authenticated API call. `opts.slot` picks the session ('main' or
 * 'support'); by default tenant calls use the support session while one is
 * active. Throws ApiError.
 */
export async function request(method, path, opts = {}) {
  const slot = opts.slot || slotFor(path);
  const target = url(path, opts.query);
  for (let attempt = 0; ; attempt++) {
    const s = slots[slot];
    if (!s) throw new ApiError(401, { error: 'token_missing', message: 'Not signed in.' });
    try {
      return await send(method, target, { body: opts.body, token: s.token, raw: opts.raw });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      if (slots[slot] !== s) {
        // Another call already refreshed or dropped this session.
        if (slots[slot] && attempt === 0) continue;
        throw e;
      }
      if (e.code === 'token_expired' && attempt === 0) {
        try {
          await refresh(slot);
        } catch (re) {
          if (re instanceof ApiError && re.status === 401) lost(slot, re);
          throw re;
        }
        continue;
      }
      lost(slot, e);
      throw e;
    }
  }
}

export const get = (path, query, opts = {}) => request('GET', path, { ...opts, query });
/** Every item of a paginated list ({items, next_cursor}), page by page. */
export async function all(path, query = {}, opts = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...query, limit: 200, ...(cursor ? { cursor } : {}) }, opts);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const put = (path, body, opts = {}) => request('PUT', path, { ...opts, body });
export const patch = (path, body, opts = {}) => request('PATCH', path, { ...opts, body });

/** Tenant-scoped path helper. */
export function t(tenant, rest) {
  return `/v1/tenants/${encodeURIComponent(tenant)}${rest}`;
}
