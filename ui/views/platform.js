// Platform (global admins): organizations, access requests, support sessions.

import * as api from '../api.js';
import { h, add, clear, toast, dialog, dialogField } from '../dom.js';
import { timeEl, countdownEl, duration } from '../format.js';

const STATUS = {
  pending: ['Pending approval', 'pill-warn'],
  active: ['Active', 'pill-ok'],
  expired: ['Expired', 'pill-muted'],
  revoked: ['Revoked', 'pill-bad'],
  denied: ['Denied', 'pill-muted'],
};

// `onSupportStarted` comes from the shell (app.js), which this view must not import.
export function renderPlatform(main, ctx, { onSupportStarted }) {
  const tenantsBody = h('tbody', { id: 'tenants-body' });
  const grants = h('div', { id: 'my-grants' });
  const notice = ctx.notice;
  ctx.notice = null;
  let timer = null;

  add(main, [
    h('div', { class: 'page-head' }, h('h1', null, 'Platform'),
      h('p', { class: 'muted' }, 'Organizations on this server. You can read or change an organization’s data only through a support session on a grant its administrators approved.')),
    notice ? h('div', { class: `notice notice-${notice.kind}`, id: 'platform-notice', role: 'alert' }, notice.text) : null,
    ctx.support ? h('div', { class: 'notice notice-info' }, `You are in a support session in ${ctx.support.tenantName || ctx.support.tenant}. End it from the banner before starting another.`) : null,
    h('section', { class: 'section' }, h('h2', null, 'Organizations'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'tenants-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Organization'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Your access'),
          h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
        tenantsBody))),
    h('section', { class: 'section' }, h('h2', null, 'Your access requests and grants'), grants)]);

  async function requestAccess(t) {
    const reason = h('textarea', { rows: 3, maxlength: 500, placeholder: 'e.g. ticket #4711: user cannot sign in' });
    const minutes = h('input', { type: 'number', min: 1, value: 60 });
    const validate = (v) => {
      const p = {};
      if (!v.reason.trim()) p.reason = 'Say why you need access: the organization’s admins decide on it.';
      const m = Number(v.minutes);
      if (!Number.isInteger(m) || m < 1) p.minutes = 'Enter whole minutes.';
      return p;
    };
    validate.async = (v) => api.post(`/v1/platform/tenants/${encodeURIComponent(t.slug)}/access-requests`, { reason: v.reason.trim(), duration_secs: Number(v.minutes) * 60 })
      .catch((e) => { throw new Error(Object.values(e.details || {}).join('; ') || e.message); });
    const v = await dialog({
      title: `Request support access to ${t.name}`,
      body: [h('p', { class: 'muted' }, 'Their org admins see your request under Support access and approve or deny it.')],
      fields: [dialogField('reason', 'Reason', reason), dialogField('minutes', 'Duration (minutes)', minutes, 'Capped by the organization’s policy.')],
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

  async function load() {
    try {
      const [tenants, mine] = await Promise.all([
        api.get('/v1/platform/tenants', null, { slot: 'main' }),
        api.all('/v1/platform/grants', {}, { slot: 'main' }),
      ]);
      const pendingFor = new Set(mine.filter((g) => g.status === 'pending').map((g) => g.tenant));
      clear(tenantsBody);
      if (!tenants.length) tenantsBody.append(h('tr', { class: 'empty' }, h('td', { colspan: 4 }, 'No organizations yet.')));
      for (const t of tenants) {
        const g = t.active_grant && new Date(t.active_grant.expires_at).getTime() > Date.now() ? t.active_grant : null;
        const actions = h('td', { class: 'cell-actions' });
        if (g) {
          actions.append(h('button', { type: 'button', class: 'btn btn-small btn-primary', dataset: { role: 'start-support', tenant: t.slug }, disabled: !!ctx.support, onclick: () => startSupport(t) }, 'Start support session'));
        } else {
          actions.append(h('button', { type: 'button', class: 'btn btn-small', dataset: { role: 'request-access', tenant: t.slug }, disabled: pendingFor.has(t.slug), onclick: () => requestAccess(t) },
            pendingFor.has(t.slug) ? 'Request pending' : 'Request access'));
        }
        tenantsBody.append(h('tr', { dataset: { tenant: t.slug } },
          h('td', { 'data-label': 'Organization' }, h('div', null, t.name), h('div', { class: 'muted small mono' }, t.slug)),
          h('td', { 'data-label': 'Created' }, timeEl(t.created_at)),
          h('td', { 'data-label': 'Your access' }, g ? h('span', null, h('span', { class: 'pill pill-ok' }, 'Granted'), ' ', countdownEl(g.expires_at), ' left')
            : pendingFor.has(t.slug) ? h('span', { class: 'pill pill-warn' }, 'Requested') : h('span', { class: 'muted' }, 'None')),
          actions));
      }
      clear(grants);
      if (!mine.length) {
        grants.append(h('p', { class: 'empty-state muted' }, 'You have not requested or received support access yet.'));
      } else {
        const body = h('tbody');
        for (const g of mine.slice(0, 50)) {
          const [label, cls] = STATUS[g.status] || [g.status, 'pill-muted'];
          body.append(h('tr', null,
            h('td', { 'data-label': 'Organization', class: 'mono' }, g.tenant),
            h('td', { 'data-label': 'Reason', class: 'wrap' }, g.reason),
            h('td', { 'data-label': 'Status' }, h('span', { class: `pill ${cls}` }, label)),
            h('td', { 'data-label': 'Duration' }, duration(g.duration_secs)),
            h('td', { 'data-label': 'Requested' }, timeEl(g.requested_at)),
            h('td', { 'data-label': 'Ends' }, g.status === 'active' && g.expires_at ? countdownEl(g.expires_at) : timeEl(g.ended_at || g.expires_at))));
        }
        grants.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('thead', null, h('tr', null, ['Organization', 'Reason', 'Status', 'Duration', 'Requested', 'Ends'].map((c) => h('th', { scope: 'col' }, c)))),
          body)));
      }
    } catch (e) {
      if (e.status !== 401) toast(`Could not load organizations: ${e.message}`, 'error');
    }
  }

  load();
  timer = setInterval(() => { if (!document.querySelector('dialog[open]')) load(); }, 10000);
  return () => clearInterval(timer);
}
