// A user's page, the incident hub: who they are, every session (device,
// IP, location, created, last active, id), what the audit log says about
// them, and one "End all sessions" action (count first, a reason, and
// optionally disabling the account: one request, one audit entry).

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, field, fieldError } from '../dom.js';
import { timeEl, plural, count, fullId, errorBanner, problemText, deviceOf, placeOf } from '../format.js';
import { sessionsPanel } from './sessions.js';
import { Names, auditAbout } from './audit.js';

const ROLE = { member: 'Member', org_admin: 'Org admin', global_admin: 'Global admin' };

function userPill(u) {
  return u.disabled ? h('span', { class: 'pill pill-bad', id: 'user-status' }, 'Disabled') : h('span', { class: 'pill pill-ok', id: 'user-status' }, 'Enabled');
}

export function renderUser(main, ctx, id) {
  const tenant = ctx.tenant;
  const names = new Names(tenant);
  const title = h('h1', null, 'User');
  const sub = h('p', { class: 'muted', id: 'user-sub' });
  const head = h('div', { class: 'page-head' }, h('p', null, h('a', { href: '/users', 'data-nav': '' }, '← Users')), title, sub);
  const errorBox = h('div', { id: 'user-error', hidden: true });
  const card = h('section', { class: 'card user-card', 'aria-label': 'Account', 'aria-busy': 'true' }, h('p', { class: 'muted', dataset: { state: 'loading' } }, 'Loading the account…'));
  const sessions = h('section', { class: 'section', 'aria-labelledby': 'user-sessions-h' });
  const auditLink = h('a', { href: `/audit?target_user_id=${id}`, 'data-nav': '', id: 'user-audit-link' }, 'Open the full audit trail');
  const audit = h('section', { class: 'section', 'aria-labelledby': 'user-audit-h' });
  const auditBody = h('div', { id: 'user-audit' });
  main.append(head, errorBox, card, sessions, audit);
  let cleanup = null;
  let user = null;

  async function load() {
    try {
      user = await api.get(api.t(tenant, `/users/${id}`));
      names.add(user);
      errorBanner(errorBox, null);
    } catch (e) {
      if (e.status === 401) return false;
      clear(card);
      card.removeAttribute('aria-busy');
      if (e.status === 404) {
        card.append(h('p', { dataset: { state: 'empty' } }, 'No such user in this organization.'));
        return false;
      }
      card.hidden = true;
      errorBanner(errorBox, e, 'this user', async () => { card.hidden = false; if (await load()) mountAll(); });
      return false;
    }
    card.hidden = false;
    render();
    return true;
  }

  function isMe() {
    return !!(ctx.me && ctx.me.user && user && ctx.me.user.id === user.id && !ctx.support);
  }

  function render() {
    const name = user.display_name || user.email;
    title.textContent = name;
    clear(sub).append(user.email, ' · ', ROLE[user.role] || user.role, ' · ', userPill(user));
    clear(card);
    card.removeAttribute('aria-busy');
    const role = h('select', { id: 'user-role', 'aria-label': 'Role' }, h('option', { value: 'member' }, 'Member'), h('option', { value: 'org_admin' }, 'Org admin'));
    role.value = user.role;
    const saveRole = h('button', { type: 'button', class: 'btn', disabled: true }, 'Save role');
    role.addEventListener('change', () => { saveRole.disabled = role.value === user.role; });
    saveRole.addEventListener('click', async () => {
      try {
        user = await api.patch(api.t(tenant, `/users/${user.id}`), { role: role.value });
        toast(`Role changed to ${ROLE[user.role]}.`);
        render();
        mountAudit();
      } catch (e) { if (e.status !== 401) toast(`Could not change the role: ${problemText(e)}`, 'error'); }
    });

    const endAll = h('button', { type: 'button', class: 'btn btn-danger', id: 'user-force-signout', dataset: { role: 'end-all' } }, 'End all sessions…');
    endAll.addEventListener('click', () => endAllDialog(false));

    let toggle;
    if (user.disabled) {
      toggle = h('button', { type: 'button', class: 'btn', id: 'user-toggle' }, 'Enable account');
      toggle.addEventListener('click', enable);
    } else {
      toggle = h('button', { type: 'button', class: 'btn btn-danger-outline', id: 'user-toggle' }, 'Disable account…');
      toggle.disabled = isMe();
      if (isMe()) toggle.title = 'You cannot disable your own account.';
      toggle.addEventListener('click', () => endAllDialog(true));
    }

    const setPw = h('button', { type: 'button', class: 'btn', id: 'user-set-password' }, 'Set password');
    setPw.addEventListener('click', setPassword);

    card.append(
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, 'Email'), h('dd', null, user.email)),
        h('div', null, h('dt', null, 'Status'), h('dd', null, user.disabled ? 'Disabled: cannot sign in' : 'Enabled')),
        h('div', null, h('dt', null, 'Role'), h('dd', null, ROLE[user.role] || user.role)),
        h('div', null, h('dt', null, 'Created'), h('dd', null, timeEl(user.created_at))),
        h('div', null, h('dt', null, 'Updated'), h('dd', null, timeEl(user.updated_at))),
        h('div', { class: 'fact-wide' }, h('dt', null, 'User id'), h('dd', { class: 'small' }, fullId(user.id, 'user id')))),
      h('div', { class: 'actions-row' }, endAll, toggle, setPw),
      h('div', { class: 'card-row' }, field('Role', role), saveRole));
    fieldError(role, '');
  }

  /** The one incident action: count first, a reason, optionally disable. */
  async function endAllDialog(disableFirst) {
    const name = user.display_name || user.email;
    let n;
    try {
      const dry = await api.post(api.t(tenant, `/users/${user.id}/revoke-sessions`), { dry_run: true });
      if (dry && typeof dry.would_revoke === 'number') {
        n = dry.would_revoke;
      } else {
        // A server without dry runs ended the sessions already: say so.
        toast(`This server ended ${plural((dry && dry.revoked) || 0, 'session')} without a dry run.`, 'warn');
        refreshAll();
        return;
      }
    } catch (e) {
      if (e.status !== 401) toast(`Could not count the sessions: ${problemText(e)}`, 'error');
      return;
    }
    // Which devices: the admin checks this is the right person before confirming.
    let devices = null;
    if (n > 0) {
      try {
        const page = await api.get(api.t(tenant, '/sessions'), { user_id: user.id, status: 'active', limit: 5 });
        devices = h('ul', { class: 'end-all-devices', id: 'end-all-devices' }, page.items.map((s) => {
          const place = placeOf(s.location);
          return h('li', null, deviceOf(s).label, ' · ', h('span', { class: 'mono' }, s.ip || 'unknown IP'), place ? ` (${place})` : '',
            ' · active ', timeEl(s.last_activity_at));
        }), n > page.items.length ? h('li', { class: 'muted' }, `… and ${count(n - page.items.length)} more`) : null);
      } catch (e) { devices = null; }
    }
    const reason = h('textarea', { rows: 3, maxlength: 500, placeholder: 'e.g. laptop stolen (INC-2291)', id: 'end-all-reason' });
    reason.addEventListener('input', () => { if (reason.value.trim()) fieldError(reason, ''); });
    const disable = h('input', { type: 'checkbox', id: 'end-all-disable', checked: disableFirst && !user.disabled, disabled: isMe() || user.disabled });
    const disableField = {
      name: 'disable',
      input: disable,
      node: h('div', { class: 'field field-check' },
        h('label', { class: 'check check-strong', for: 'end-all-disable' }, disable, 'Also disable the account'),
        h('p', { class: 'hint' }, user.disabled ? 'The account is already disabled.' : isMe() ? 'You cannot disable your own account.' : `${name} cannot sign in again until an admin enables the account.`)),
    };
    const confirmLabel = () => {
      const base = n ? `End ${plural(n, 'session')}` : 'End all sessions';
      return disable.checked ? `${base} and disable` : base;
    };
    const pending = dialog({
      title: `End all sessions of ${name}?`,
      body: [
        h('p', { class: 'dialog-count', id: 'end-all-count' },
          h('strong', null, count(n)), n === 1 ? ' active session will end.' : ' active sessions will end.'),
        devices,
        h('p', null, 'Every session and refresh token of this user is revoked, and tokens issued before now stop working at once.'),
        isMe() ? h('p', { class: 'notice notice-warn' }, 'This is your own account: you will be signed out too.') : null,
        h('p', { class: 'muted' }, 'One entry in the audit log records it all, with your reason.'),
      ],
      fields: [dialogField('reason', 'Reason (required)', reason), disableField],
      confirm: 'End all sessions',
      danger: true,
      validate: (v) => (v.reason.trim() ? {} : { reason: 'Say why: it goes into the audit log.' }),
    });
    const ok = disable.closest('form').querySelector('button[value="ok"]');
    ok.id = 'end-all-confirm';
    ok.textContent = confirmLabel();
    disable.addEventListener('change', () => { ok.textContent = confirmLabel(); });
    const v = await pending;
    if (!v) return;
    const wantDisable = !!v.disable && !user.disabled && !isMe();
    try {
      const r = await api.post(api.t(tenant, `/users/${user.id}/revoke-sessions`), { reason: v.reason.trim(), disable: wantDisable });
      let disabled = !!r.disabled;
      if (wantDisable && r.disabled === undefined) {
        // Older server: disable in a second step.
        user = await api.patch(api.t(tenant, `/users/${user.id}`), { disabled: true });
        disabled = user.disabled;
      }
      const msg = `Ended ${plural(r.revoked || 0, 'session')} of ${name}${disabled ? '; the account is disabled' : ''}.`;
      toast(msg);
      announce(msg);
      refreshAll();
    } catch (e) {
      if (e.status !== 401) toast(`Could not end the sessions: ${problemText(e)}`, 'error');
    }
  }

  const done = h('p', { class: 'notice notice-info', id: 'user-done', role: 'status', hidden: true });
  main.insertBefore(done, card);
  function announce(text) {
    done.hidden = false;
    const link = h('a', { href: `/audit?target_user_id=${id}`, 'data-nav': '', id: 'user-done-audit' }, 'See it in the audit log');
    clear(done).append(text, ' ', link);
    // Keyboard users land on the next step: the proof.
    link.focus();
  }

  async function enable() {
    const v = await dialog({
      title: `Enable ${user.email}?`,
      body: [h('p', null, 'The user can sign in again with their password.')],
      confirm: 'Enable account',
    });
    if (!v) return;
    try {
      user = await api.patch(api.t(tenant, `/users/${user.id}`), { disabled: false });
      toast('Account enabled.');
      refreshAll();
    } catch (e) { if (e.status !== 401) toast(`Could not update the account: ${problemText(e)}`, 'error'); }
  }

  async function setPassword() {
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
      try { result = await api.post(api.t(tenant, `/users/${user.id}/password`), { password: v.password }); } catch (e) { throw new Error(problemText(e)); }
    };
    const v = await dialog({
      title: `Set a new password for ${user.email}`,
      body: [h('p', { class: 'muted' }, 'Every other session of this user is revoked.')],
      fields: [dialogField('password', 'New password', pw, 'At least 8 characters.'), dialogField('confirm', 'Repeat the password', pw2)],
      confirm: 'Set password', validate,
    });
    if (v && result) { toast(`Password set; ${plural(result.sessions_revoked, 'session')} revoked.`); refreshAll(); }
  }

  function mountSessions() {
    if (cleanup) cleanup();
    clear(sessions).append(h('h2', { id: 'user-sessions-h' }, 'Sessions'));
    cleanup = sessionsPanel(sessions, { tenant, userId: id });
  }

  function mountAudit() {
    clear(audit).append(
      h('div', { class: 'section-head' }, h('h2', { id: 'user-audit-h' }, 'Audit trail'), auditLink),
      h('p', { class: 'muted small' }, 'Recent entries about this user: what admins did to the account and its sessions, and what the user did.'),
      auditBody);
    auditAbout(auditBody, tenant, id, names);
  }

  function mountAll() {
    mountSessions();
    mountAudit();
  }

  async function refreshAll() {
    if (await load()) mountAll();
  }

  load().then((ok) => { if (ok) mountAll(); });
  return () => { if (cleanup) cleanup(); };
}
