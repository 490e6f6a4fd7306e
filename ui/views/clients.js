// Service clients: the resource servers that may introspect this
// organization's tokens. Create one (its secret is shown once, here, with a
// copy button), list them, delete one.

import * as api from '../api.js';
import { h, clear, toast, dialog, dialogField, stateBox, loadError, copyButton } from '../dom.js';
import { timeEl } from '../format.js';

function problemsText(e) {
  const d = Object.entries(e.details || {});
  return d.length ? d.map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`).join('; ') : e.message;
}

export function renderClients(main, ctx) {
  const tenant = ctx.tenant;
  const tbody = h('tbody', { id: 'clients-body' });
  const tableBox = h('div', { class: 'table-wrap', hidden: true }, h('table', { class: 'table', id: 'clients-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Client id'), h('th', { scope: 'col' }, 'Back-channel logout'),
      h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tbody));
  const state = h('div', { id: 'clients-state' }, stateBox('loading', 'Loading service clients…'));
  const secretBox = h('div', { id: 'client-secret-box' });
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'client-new' }, 'New service client');
  let items = [];
  let loadedOnce = false;

  main.append(
    h('div', { class: 'page-head page-head-row' },
      h('div', null, h('h1', null, 'Service clients'),
        h('p', { class: 'muted' }, 'Resource servers (APIs, gateways) that check ', h('strong', null, ctx.tenantName || tenant),
          '’s access tokens at ', h('code', null, '/v1/oauth/introspect'), ' with a client id and secret (HTTP Basic).')),
      h('div', { class: 'head-actions' }, add)),
    secretBox,
    state,
    tableBox);

  /** The one time the secret is on screen: only in this page's memory, gone on reload or navigation. */
  function showSecret(c) {
    const secretEl = h('code', { class: 'secret-value', id: 'client-secret' }, c.client_secret);
    const idEl = h('code', { class: 'secret-value', id: 'client-secret-id' }, c.client_id);
    const done = h('button', { type: 'button', class: 'btn btn-primary', id: 'client-secret-done' }, 'I stored the secret');
    const panel = h('section', { class: 'secret-panel', id: 'client-secret-panel', role: 'alert', 'aria-labelledby': 'client-secret-title' },
      h('h2', { id: 'client-secret-title' }, `Secret of “${c.name}”: copy it now`),
      h('p', null, h('strong', null, 'You will not see this secret again.'),
        ' sessiond keeps only a hash of it. Store it in the resource server’s configuration now; if it is lost, delete this client and create a new one.'),
      h('div', { class: 'secret-row' }, h('span', { class: 'label' }, 'Client id'), idEl, copyButton(c.client_id, { what: 'client id', id: 'client-id-copy' })),
      h('div', { class: 'secret-row' }, h('span', { class: 'label' }, 'Client secret'), secretEl, copyButton(c.client_secret, { what: 'client secret', id: 'client-secret-copy' })),
      h('div', { class: 'actions-row' }, done));
    done.addEventListener('click', () => { clear(secretBox); add.focus(); });
    clear(secretBox).append(panel);
    panel.scrollIntoView({ block: 'nearest' });
    document.getElementById('client-secret-copy').focus();
  }

  async function create() {
    const name = h('input', { autocomplete: 'off', maxlength: 200, placeholder: 'e.g. orders-api' });
    const logout = h('input', { type: 'url', autocomplete: 'off', placeholder: 'https://orders.example.com/backchannel-logout' });
    let made = null;
    const validate = (v) => {
      const p = {};
      if (!v.name.trim()) p.name = 'Name the resource server, so you recognise it later.';
      const u = v.logout.trim();
      if (u) {
        let ok = false;
        try { ok = ['https:', 'http:'].includes(new URL(u).protocol); } catch { ok = false; }
        if (!ok) p.logout = 'Enter a full URL (https://…), or leave it empty.';
      }
      return p;
    };
    validate.async = async (v) => {
      const body = { name: v.name.trim() };
      if (v.logout.trim()) body.backchannel_logout_uri = v.logout.trim();
      try {
        made = await api.post(api.t(tenant, '/clients'), body);
      } catch (e) {
        throw new Error(problemsText(e));
      }
    };
    const v = await dialog({
      title: 'New service client',
      body: [h('p', { class: 'muted' }, 'The secret is shown once, right after this.')],
      fields: [
        dialogField('name', 'Name', name),
        dialogField('logout', 'Back-channel logout URL (optional)', logout, 'OIDC Back-Channel Logout: sessiond POSTs a logout token here whenever a session of this organization ends.'),
      ],
      confirm: 'Create client', validate,
    });
    if (!v || !made) return;
    toast(`Created the service client “${made.name}”.`);
    showSecret(made);
    load();
  }
  add.addEventListener('click', create);

  async function remove(c) {
    const v = await dialog({
      title: `Delete the service client “${c.name}”?`,
      body: [
        h('p', null, 'Its secret stops working at once: the resource server using it can no longer check tokens (every introspection answers ', h('code', null, 'invalid_client'), ').'),
        c.backchannel_logout_uri ? h('p', null, 'Its back-channel logout endpoint stops receiving logout tokens.') : null,
        h('p', { class: 'muted' }, 'This cannot be undone; the audit log records it.'),
      ],
      confirm: 'Delete client', danger: true,
    });
    if (!v) return;
    try {
      await api.del(api.t(tenant, `/clients/${encodeURIComponent(c.client_id)}`));
      toast(`Deleted “${c.name}”.`);
      const shown = document.getElementById('client-secret-id');
      if (shown && shown.textContent === c.client_id) clear(secretBox);
      load();
    } catch (e) {
      if (e.status !== 401) toast(`Could not delete: ${loadError(e)}`, 'error');
    }
  }

  function render() {
    clear(tbody);
    clear(state);
    tableBox.hidden = !items.length;
    if (!items.length) {
      state.append(stateBox('empty', 'No service clients yet. Create one for each resource server that checks this organization’s tokens.'));
      return;
    }
    for (const c of items) {
      tbody.append(h('tr', { dataset: { clientId: c.client_id } },
        h('td', { 'data-label': 'Name' }, h('strong', null, c.name)),
        h('td', { 'data-label': 'Client id' }, h('span', { class: 'field-inline' }, h('code', { class: 'mono' }, c.client_id), copyButton(c.client_id, { what: 'client id' }))),
        h('td', { 'data-label': 'Back-channel logout', class: 'wrap' }, c.backchannel_logout_uri ? h('code', { class: 'mono' }, c.backchannel_logout_uri) : h('span', { class: 'muted' }, 'none')),
        h('td', { 'data-label': 'Created' }, timeEl(c.created_at)),
        h('td', { class: 'cell-actions' }, h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', dataset: { role: 'delete-client' }, onclick: () => remove(c) }, 'Delete'))));
    }
  }

  async function load() {
    try {
      items = await api.all(api.t(tenant, '/clients'));
      loadedOnce = true;
      render();
    } catch (e) {
      if (e.status === 401) return;
      clear(state).append(stateBox('error', loadedOnce ? `${loadError(e)} The list below may be out of date.` : loadError(e),
        { retry: () => { clear(state).append(stateBox('loading', 'Trying again…')); load(); } }));
    }
  }

  load();
}
