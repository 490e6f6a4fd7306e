// Users: list/search/create; a user's page with their sessions, force
// sign-out, disable/enable, set password, role.

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, debounce, field, fieldError } from '../dom.js';
import { timeEl } from '../format.js';
import { sessionsPanel } from './sessions.js';

const ROLE = { member: 'Member', org_admin: 'Org admin', global_admin: 'Global admin' };

function userPill(u) {
  return u.disabled ? h('span', { class: 'pill pill-bad' }, 'Disabled') : h('span', { class: 'pill pill-ok' }, 'Enabled');
}

export function renderUsers(main, ctx) {
  const tenant = ctx.tenant;
  const state = { q: '', items: [], cursor: null };
  const search = h('input', { type: 'search', id: 'users-search', placeholder: 'Search name or email', 'aria-label': 'Search users', autocomplete: 'off' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  const summary = h('p', { class: 'table-summary muted', 'aria-live': 'polite' });
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'user-new' }, 'New user');

  main.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Users'), h('p', { class: 'muted' }, 'People who can sign in to ', h('strong', null, tenant), '.')),
    h('div', { class: 'toolbar' }, h('div', { class: 'toolbar-group grow' }, search), h('div', { class: 'toolbar-group' }, add)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Role'),
        h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Created'))),
      tbody)),
    h('div', { class: 'table-foot' }, summary, more));

  async function load(append) {
    try {
      const page = await api.get(api.t(tenant, '/users'), { q: state.q || undefined, cursor: append ? state.cursor : undefined, limit: 50 });
      state.items = append ? state.items.concat(page.items) : page.items;
      state.cursor = page.next_cursor;
      render();
    } catch (e) {
      if (e.status !== 401) toast(`Could not load users: ${e.message}`, 'error');
    }
  }

  function render() {
    clear(tbody);
    if (!state.items.length) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, state.q ? `No users match “${state.q}”.` : 'No users.')));
    for (const u of state.items) {
      tbody.append(h('tr', { dataset: { userId: u.id } },
        h('td', { 'data-label': 'Name' }, h('a', { href: `/users/${u.id}`, 'data-nav': '' }, u.display_name || u.email)),
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
      if (!/^[^@\s]+@[^@\s]+$/.test(v.email.trim())) p.email = 'Enter an email address.';
      if (!v.display_name.trim()) p.display_name = 'Enter a name.';
      if (v.password.length < 8) p.password = 'Use at least 8 characters.';
      return p;
    };
    validate.async = (v) => api.post(api.t(tenant, '/users'), { email: v.email.trim(), display_name: v.display_name.trim(), role: v.role, password: v.password })
      .catch((e) => { throw new Error(e.code === 'conflict' ? 'A user with this email already exists.' : detailText(e)); });
    const v = await dialog({ title: 'New user', fields, confirm: 'Create user', validate });
    if (v) { toast(`Created ${v.email.trim()}.`); load(false); }
  });
  load(false);
}

function detailText(e) {
  const d = e.details || {};
  const parts = Object.entries(d).map(([k, m]) => `${k}: ${m}`);
  return parts.length ? parts.join('; ') : e.message;
}

export function renderUser(main, ctx, id) {
  const tenant = ctx.tenant;
  const head = h('div', { class: 'page-head' }, h('p', null, h('a', { href: '/users', 'data-nav': '' }, '← Users')), h('h1', null, 'User'));
  const card = h('section', { class: 'card user-card', 'aria-label': 'Account' });
  const sessions = h('section', { class: 'section' }, h('h2', null, 'Sessions'));
  main.append(head, card, sessions);
  let cleanup = null;
  let user = null;

  async function load() {
    try {
      user = await api.get(api.t(tenant, `/users/${id}`));
    } catch (e) {
      if (e.status === 404) { clear(card).append(h('p', null, 'No such user in this organization.')); return; }
      if (e.status !== 401) toast(`Could not load the user: ${e.message}`, 'error');
      return;
    }
    render();
  }

  function render() {
    head.querySelector('h1').textContent = user.display_name || user.email;
    clear(card);
    const isMe = ctx.me && ctx.me.user && ctx.me.user.id === user.id;
    const role = h('select', { id: 'user-role', 'aria-label': 'Role' }, h('option', { value: 'member' }, 'Member'), h('option', { value: 'org_admin' }, 'Org admin'));
    role.value = user.role;
    const saveRole = h('button', { type: 'button', class: 'btn', disabled: true }, 'Save role');
    role.addEventListener('change', () => { saveRole.disabled = role.value === user.role; });
    saveRole.addEventListener('click', async () => {
      try {
        user = await api.patch(api.t(tenant, `/users/${user.id}`), { role: role.value });
        toast(`Role changed to ${ROLE[user.role]}.`);
        render();
      } catch (e) { if (e.status !== 401) toast(`Could not change the role: ${detailText(e)}`, 'error'); }
    });

    const signOutAll = h('button', { type: 'button', class: 'btn btn-danger', id: 'user-force-signout' }, 'Sign out everywhere');
    signOutAll.addEventListener('click', async () => {
      const v = await dialog({
        title: `Sign ${user.display_name || user.email} out everywhere?`,
        body: [h('p', null, 'Every session and refresh token of this user is revoked, and tokens issued before now stop working at once. They can sign in again with their password.')],
        confirm: 'Sign out everywhere', danger: true,
      });
      if (!v) return;
      try {
        const r = await api.post(api.t(tenant, `/users/${user.id}/revoke-sessions`));
        toast(`Signed out: ${r.revoked} session${r.revoked === 1 ? '' : 's'} revoked.`);
        mountSessions();
      } catch (e) { if (e.status !== 401) toast(`Could not sign the user out: ${e.message}`, 'error'); }
    });

    const toggle = h('button', { type: 'button', class: user.disabled ? 'btn' : 'btn btn-danger-outline', id: 'user-toggle' }, user.disabled ? 'Enable account' : 'Disable account');
    toggle.disabled = isMe && !user.disabled;
    if (isMe) toggle.title = 'You cannot disable your own account.';
    toggle.addEventListener('click', async () => {
      const disabling = !user.disabled;
      const v = await dialog({
        title: disabling ? `Disable ${user.email}?` : `Enable ${user.email}?`,
        body: [h('p', null, disabling ? 'The user cannot sign in, and every session of theirs is revoked now.' : 'The user can sign in again with their password.')],
        confirm: disabling ? 'Disable account' : 'Enable account', danger: disabling,
      });
      if (!v) return;
      try {
        user = await api.patch(api.t(tenant, `/users/${user.id}`), { disabled: disabling });
        toast(disabling ? 'Account disabled; sessions revoked.' : 'Account enabled.');
        render();
        mountSessions();
      } catch (e) { if (e.status !== 401) toast(`Could not update the account: ${detailText(e)}`, 'error'); }
    });

    const setPw = h('button', { type: 'button', class: 'btn', id: 'user-set-password' }, 'Set password');
    setPw.addEventListener('click', async () => {
      const pw = h('input', { type: 'password', autocomplete: 'new-password' });
      const pw2 = h('input', { type: 'password', autocomplete: 'new-password' });
      const validate = (v) => {
        const p = {};
        if (v.password.length < 8) p.password = 'Use at least 8 characters.';
        else if (v.password !== v.confirm) p.confirm = 'The passwords differ.';
        return p;
      };
      let result = null;
      validate.async = async (v) => {
        try { result = await api.post(api.t(tenant, `/users/${user.id}/password`), { password: v.password }); } catch (e) { throw new Error(detailText(e)); }
      };
      const v = await dialog({
        title: `Set a new password for ${user.email}`,
        body: [h('p', { class: 'muted' }, 'Every other session of this user is revoked.')],
        fields: [dialogField('password', 'New password', pw, 'At least 8 characters.'), dialogField('confirm', 'Repeat the password', pw2)],
        confirm: 'Set password', validate,
      });
      if (v && result) { toast(`Password set; ${result.sessions_revoked} session${result.sessions_revoked === 1 ? '' : 's'} revoked.`); mountSessions(); }
    });

    card.append(
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, 'Email'), h('dd', null, user.email)),
        h('div', null, h('dt', null, 'Status'), h('dd', null, userPill(user))),
        h('div', null, h('dt', null, 'Created'), h('dd', null, timeEl(user.created_at))),
        h('div', null, h('dt', null, 'Updated'), h('dd', null, timeEl(user.updated_at))),
        h('div', null, h('dt', null, 'User id'), h('dd', { class: 'mono small' }, user.id))),
      h('div', { class: 'card-row' }, field('Role', role), saveRole),
      h('div', { class: 'actions-row' }, signOutAll, toggle, setPw));
    fieldError(role, '');
  }

  function mountSessions() {
    if (cleanup) cleanup();
    clear(sessions).append(h('h2', null, 'Sessions'));
    cleanup = sessionsPanel(sessions, { tenant, userId: id });
  }

  load().then(() => { if (user) mountSessions(); });
  return () => { if (cleanup) cleanup(); };
}

