// Your devices: the signed-in person's own sessions (members, org admins
// and global admins alike), like an account console's "device activity".
// Sign out one device (this one means signing out of the console) or every
// other device. Always the main session's own list (GET /v1/auth/sessions):
// a support session has no devices of its own.

import * as api from '../api.js';
import { h, clear, toast, dialog, stateBox, loadError } from '../dom.js';
import { timeEl, exact, deviceOf, placeOf, relative } from '../format.js';

const OWN = '/v1/auth/sessions';
const MAIN = { slot: 'main' };

/** "Firefox 127 on Linux · 127.0.0.1 · Lisbon, Portugal" */
function describe(s) {
  const place = placeOf(s.location);
  return [deviceOf(s).label, s.ip || 'unknown IP', place].filter(Boolean).join(' · ');
}

/** A short list of devices for a dialog: what will be signed out. */
function deviceList(items) {
  const shown = items.slice(0, 8);
  return h('ul', { class: 'end-all-devices', id: 'devices-others-list' },
    shown.map((s) => h('li', null, describe(s), h('span', { class: 'muted' }, ` · last active ${relative(s.last_activity_at)}`))),
    items.length > shown.length ? h('li', { class: 'muted' }, `and ${items.length - shown.length} more`) : null);
}

/**
 * renderDevices(main, ctx, {signOutHere}): `signOutHere()` signs out of the
 * console (the shell's own sign-out), used when this device is chosen.
 */
export function renderDevices(main, ctx, { signOutHere } = {}) {
  const me = ctx.me && ctx.me.user;
  const tbody = h('tbody', { id: 'devices-body' });
  const tableBox = h('div', { class: 'table-wrap', hidden: true },
    h('table', { class: 'table table-devices', id: 'devices-table' },
      h('caption', { class: 'sr-only' }, 'Devices where you are signed in, most recently active first'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Device'),
        h('th', { scope: 'col' }, 'IP address and place'),
        h('th', { scope: 'col' }, 'Last activity'),
        h('th', { scope: 'col' }, 'Signed in'),
        h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      tbody));
  const state = h('div', { id: 'devices-state' }, stateBox('loading', 'Loading your devices…'));
  const count = h('p', { class: 'table-count', id: 'devices-count', 'aria-live': 'polite' });
  const others = h('button', { type: 'button', class: 'btn btn-danger-outline', id: 'devices-sign-out-others', disabled: true }, 'Sign out all other devices');
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'devices-refresh' }, 'Refresh');
  const note = h('p', { class: 'muted small', id: 'devices-note' });
  let items = [];
  let loadedOnce = false;
  let busy = false;
  let gone = false;

  main.append(
    h('div', { class: 'page-head page-head-row' },
      h('div', null, h('h1', null, 'Your devices'),
        h('p', { class: 'muted' }, 'Where ', me ? h('strong', null, me.email) : 'you', ' is signed in right now. ',
          'If you do not recognise a device, sign it out and change your password.')),
      h('div', { class: 'head-actions' }, refreshBtn, others)),
    state,
    count,
    tableBox,
    note);

  function row(s) {
    const d = deviceOf(s);
    const place = placeOf(s.location);
    const signOut = h('button', {
      type: 'button', class: 'btn btn-small btn-danger-outline', dataset: { role: 'sign-out' },
      'aria-label': s.current ? `Sign out of this device: ${describe(s)}` : `Sign out device: ${describe(s)}`,
      onclick: () => signOutOne(s),
    }, 'Sign out');
    return h('tr', { dataset: { sessionId: s.id }, class: s.current ? 'row-current' : null },
      h('td', { 'data-label': 'Device', class: 'cell-device', title: s.user_agent || '' },
        h('div', { class: 'user-line' }, h('strong', { class: 'device-browser' }, d.browser),
          s.current ? h('span', { class: 'badge badge-you', id: 'devices-this', title: 'The device you are using now' }, 'This device') : null),
        h('div', { class: 'muted small' }, d.os || (s.user_agent ? 'unknown system' : 'no user agent'))),
      h('td', { 'data-label': 'IP address and place' }, h('div', { class: 'mono' }, s.ip || '—'),
        place ? h('div', { class: 'muted small cell-place', title: s.location.country_code || '' }, place) : null),
      h('td', { 'data-label': 'Last activity' }, s.current ? h('span', { title: exact(s.last_activity_at) }, 'Now') : timeEl(s.last_activity_at)),
      h('td', { 'data-label': 'Signed in' }, timeEl(s.created_at)),
      h('td', { class: 'cell-actions' }, signOut));
  }

  function render() {
    // A reload keeps a keyboard user's place: the same row's button keeps the focus.
    const active = document.activeElement;
    const focusedRow = active && tbody.contains(active) && active.closest('tr') ? active.closest('tr').dataset.sessionId : null;
    clear(tbody);
    clear(state);
    tableBox.hidden = !items.length;
    const rest = items.filter((s) => !s.current);
    others.disabled = busy || !rest.length;
    others.title = rest.length ? '' : 'No other device is signed in.';
    if (!items.length) {
      count.textContent = '';
      note.textContent = '';
      state.append(stateBox('empty', 'No active sessions to show.'));
      return;
    }
    count.textContent = items.length === 1 ? '1 device signed in' : `${items.length} devices signed in`;
    note.textContent = rest.length ? '' : 'This is the only device where you are signed in.';
    for (const s of items) tbody.append(row(s));
    if (focusedRow) {
      const again = tbody.querySelector(`tr[data-session-id="${CSS.escape(focusedRow)}"] button[data-role='sign-out']`);
      if (again) again.focus();
      else refocus(0);
    }
  }

  let seq = 0;
  /** Load the list; only the latest of overlapping loads is shown (an older one may predate a sign-out). */
  async function load() {
    const mine = ++seq;
    // Not disabled: a focused button that is disabled drops the keyboard focus.
    refreshBtn.setAttribute('aria-busy', 'true');
    refreshBtn.textContent = 'Refreshing…';
    try {
      const fresh = await api.all(OWN, { status: 'active' }, MAIN);
      if (mine !== seq) return;
      items = fresh;
      // The current device first, then most recently active.
      items.sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
      loadedOnce = true;
      if (!gone) render();
    } catch (e) {
      if (e.status === 401 || gone || mine !== seq) return;
      clear(state).append(stateBox('error', loadedOnce ? `${loadError(e)} The list below may be out of date.` : loadError(e),
        { retry: () => { clear(state).append(stateBox('loading', 'Trying again…')); load(); } }));
    } finally {
      if (mine === seq) {
        refreshBtn.removeAttribute('aria-busy');
        refreshBtn.textContent = 'Refresh';
      }
    }
  }

  /** After a row went away: focus the next row's button, else the page's actions. */
  function refocus(index) {
    const buttons = Array.from(tbody.querySelectorAll("button[data-role='sign-out']"));
    const next = buttons[Math.min(index, buttons.length - 1)];
    if (next) next.focus();
    else refreshBtn.focus();
  }

  async function signOutOne(s) {
    const current = !!s.current;
    const body = [
      h('p', { id: 'devices-dialog-device' }, h('strong', null, deviceOf(s).label), ` · ${s.ip || 'unknown IP'}`,
        placeOf(s.location) ? ` · ${placeOf(s.location)}` : ''),
      h('p', { class: 'muted' }, `Signed in ${relative(s.created_at)}, last active ${current ? 'now' : relative(s.last_activity_at)}.`),
    ];
    if (current) {
      body.unshift(h('p', { class: 'notice notice-warn', id: 'devices-dialog-current' }, 'This is the device you are using: you will be signed out of the console.'));
    } else {
      body.push(h('p', { class: 'muted' }, 'It is signed out on its next request; signing in there again needs the password.'));
    }
    const v = await dialog({
      title: current ? 'Sign out of this device?' : 'Sign out this device?',
      body,
      confirm: current ? 'Sign out here' : 'Sign out device',
      danger: true,
    });
    if (!v) return;
    if (current) {
      gone = true;
      if (signOutHere) await signOutHere();
      return;
    }
    const index = items.findIndex((x) => x.id === s.id);
    try {
      const r = await api.post(`${OWN}/${encodeURIComponent(s.id)}/revoke`, undefined, MAIN);
      toast(r && r.revoked ? `Signed out ${deviceOf(s).label}.` : 'That device was already signed out.');
      items = items.filter((x) => x.id !== s.id);
      render();
      refocus(index);
      load();
    } catch (e) {
      if (e.status === 401) return;
      if (e.status === 404) {
        toast('That device was already signed out.', 'warn');
        load();
        return;
      }
      toast(`Could not sign out the device: ${loadError(e)}`, 'error');
    }
  }

  others.addEventListener('click', async () => {
    const rest = items.filter((s) => !s.current);
    if (!rest.length) return;
    const n = rest.length;
    const v = await dialog({
      title: 'Sign out all other devices?',
      body: [
        h('p', { class: 'dialog-count', id: 'devices-others-count' }, h('strong', null, String(n)),
          n === 1 ? ' other device will be signed out:' : ' other devices will be signed out:'),
        deviceList(rest),
        h('p', { class: 'muted' }, 'You stay signed in here. Each of them is signed out on its next request.'),
      ],
      confirm: n === 1 ? 'Sign out 1 device' : `Sign out ${n} devices`,
      danger: true,
    });
    if (!v) return;
    busy = true;
    others.disabled = true;
    others.textContent = 'Signing out…';
    try {
      const r = await api.post(`${OWN}/revoke-others`, undefined, MAIN);
      const done = (r && r.revoked) || 0;
      toast(done === 1 ? 'Signed out 1 other device.' : `Signed out ${done} other devices.`);
      items = items.filter((s) => s.current);
    } catch (e) {
      if (e.status === 401) return;
      toast(`Could not sign out the other devices: ${loadError(e)}`, 'error');
    } finally {
      busy = false;
      others.textContent = 'Sign out all other devices';
    }
    render();
    refreshBtn.focus();
    load();
  });

  refreshBtn.addEventListener('click', () => {
    if (!loadedOnce) clear(state).append(stateBox('loading', 'Loading your devices…'));
    load();
  });

  load();
  // New sign-ins elsewhere show up without a click (not while a dialog is open).
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible' && !busy && !document.querySelector('dialog[open]')) load();
  }, 30000);
  return () => { gone = true; clearInterval(timer); };
}
