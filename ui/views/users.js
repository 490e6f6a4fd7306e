// Users: list/search/create. A user's page (the incident hub) is user.js.

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, debounce, emailProblem } from '../dom.js';
import { timeEl, errorBanner, loadingRow, emptyRow } from '../format.js';

export { renderUser } from './user.js';

const ROLE = { member: 'Member', org_admin: 'Org admin', global_admin: 'Global admin' };

function userPill(u) {
  return u.disabled ? h('span', { class: 'pill pill-bad' }, 'Disabled') : h('span', { class: 'pill pill-ok' }, 'Enabled');
}

export function renderUsers(main, ctx) {
  const tenant = ctx.tenant;
  const state = { q: '', items: [], cursor: null, loaded: false, error: null };
  let seq = 0;
  const search = h('input', { type: 'search', id: 'users-search', placeholder: 'Search name or email', 'aria-label': 'Search users', autocomplete: 'off' });
  const tbody = h('tbody', { id: 'users-body' });
  const errorBox = h('div', { id: 'users-error', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  const summary = h('p', { class: 'table-summary muted', 'aria-live': 'polite' });
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'user-new' }, 'New user');

  main.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Users'), h('p', { class: 'muted' }, 'People who can sign in to ', h('strong', null, tenant), '.')),
    h('div', { class: 'toolbar' }, h('div', { class: 'toolbar-group grow' }, search), h('div', { class: 'toolbar-group' }, add)),
    errorBox,
    h('div', { class: 'table-wrap', id: 'users-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Role'),
        h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Created'))),
      tbody)),
    h('div', { class: 'table-foot' }, summary, more));

  async function load(append) {
    const mine = ++seq;
    try {
      const page = await api.get(api.t(tenant, '/users'), { q: state.q || undefined, cursor: append ? state.cursor : undefined, limit: 50 });
      if (mine !== seq) return;
      state.items = append ? state.items.concat(page.items) : page.items;
      state.cursor = page.next_cursor;
      state.loaded = true;
      state.error = null;
    } catch (e) {
      if (mine !== seq || e.status === 401) return;
      state.error = e;
      if (e.status === 400) { state.items = []; state.loaded = false; }
    }
    render();
  }

  function render() {
    const e = state.error;
    const stale = e && state.items.length;
    errorBanner(errorBox, e, 'the users', () => load(false), stale ? 'The list below may be out of date.' : '');
    main.querySelector('#users-wrap').hidden = !!e && !stale;
    clear(tbody);
    if (!state.loaded && !e) tbody.append(loadingRow(5, 'Loading users…'));
    else if (state.loaded && !state.items.length) tbody.append(emptyRow(5, state.q ? `No users match “${state.q}”.` : 'No users.'));
    for (const u of state.items) {
      tbody.append(h('tr', { dataset: { userId: u.id } },
        h('td', { 'data-label': 'Name' }, h('a', { href: `/users/${u.id}`, 'data-nav': '', class: 'user-name', title: `Open ${u.display_name || u.email}: sessions, audit trail, End all sessions` }, u.display_name || u.email)),
        h('td', { 'data-label': 'Email' }, u.email),
        h('td', { 'data-label': 'Role' }, ROLE[u.role] || u.role),
        h('td', { 'data-label': 'Status' }, userPill(u)),
        h('td', { 'data-label': 'Created' }, timeEl(u.created_at))));
    }
    summary.textContent = `${state.items.length} user${state.items.length === 1 ? '' : 's'} shown${state.cursor ? ' (more available)' : ''}`;
    more.hidden = !state.cursor;
  }

  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); load(false); }, 250));
  more.addEventListener('click', () => load(true));
  add.addEventListener('click', async () => {
    const email = h('input', { type: 'email', autocomplete: 'off' });
    const name = h('input', { autocomplete: 'off' });
    const role = h('select', null, h('option', { value: 'member' }, 'Member'), h('option', { value: 'org_admin' }, 'Org admin'));
    const pw = h('input', { type: 'password', autocomplete: 'new-password' });
    const fields = [dialogField('email', 'Email', email), dialogField('display_name', 'Display name', name),
      dialogField('role', 'Role', role), dialogField('password', 'Initial password', pw, 'At least 8 characters.')];
    const validate = (v) => {
      const p = {};
      const bad = emailProblem(v.email);
      if (bad) p.email = bad;
      if (!v.display_name.trim()) p.display_name = 'Enter a name.';
      if (v.password.length < 8) p.password = 'Use at least 8 characters.';
      return p;
    };
    validate.async = (v) => api.post(api.t(tenant, '/users'), { email: v.email.trim(), display_name: v.display_name.trim(), role: v.role, password: v.password })
      .catch((e) => { throw new Error(e.code === 'conflict' ? 'A user with this email already exists.' : detailText(e)); });
    const v = await dialog({ title: 'New user', fields, confirm: 'Create user', validate });
    if (v) { toast(`Created ${v.email.trim()}.`); load(false); }
  });
  render();
  load(false);
}

function detailText(e) {
  const d = e.details || {};
  const parts = Object.entries(d).map(([k, m]) => `${k}: ${m}`);
  return parts.length ? parts.join('; ') : e.message;
}
