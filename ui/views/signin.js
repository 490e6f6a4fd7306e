// Sign in: organization members and admins, and (separately) platform global admins.

import * as api from '../api.js';
import { h, field, clear } from '../dom.js';

export function renderSignIn(root, { message, onSignedIn }) {
  let mode = 'org';
  const notice = h('div', { id: 'signin-notice', class: 'notice', role: 'status' });
  if (message && message.text) {
    notice.classList.add(`notice-${message.kind || 'info'}`);
    notice.textContent = message.text;
    if (message.retry) {
      notice.classList.add('notice-row');
      notice.append(h('button', { type: 'button', class: 'btn btn-small', id: 'signin-retry', onclick: message.retry }, 'Retry'));
    }
  } else {
    notice.hidden = true;
  }
  const error = h('div', { id: 'signin-error', class: 'form-error', role: 'alert' });
  const insecure = window.isSecureContext ? null : h('div', { class: 'notice notice-warn' },
    'This page is not served over HTTPS. Browsers refuse the secure session cookie, so you would be signed out on reload. Serve sessiond behind TLS.');

  const tenant = h('input', { id: 'signin-tenant', name: 'tenant', autocomplete: 'organization', required: true, spellcheck: 'false', autocapitalize: 'none', placeholder: 'acme' });
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', id: 'signin-submit' }, 'Sign in');
  const tenantField = field('Organization', tenant, 'Your organization’s short name, e.g. acme.');
  const title = h('h1', { id: 'signin-title' }, 'Sign in to your organization');
  const switchLink = h('button', { type: 'button', class: 'link-button', id: 'signin-switch' }, 'Platform administrator? Sign in here');

  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-title' },
    tenantField,
    field('Email', email),
    field('Password', password),
    error,
    submit);

  function setMode(m) {
    mode = m;
    tenantField.hidden = m !== 'org';
    tenant.required = m === 'org';
    title.textContent = m === 'org' ? 'Sign in to your organization' : 'Platform sign-in';
    switchLink.textContent = m === 'org' ? 'Platform administrator? Sign in here' : 'Member or organization administrator? Sign in here';
    document.body.dataset.signinMode = m;
    error.textContent = '';
  }
  switchLink.addEventListener('click', () => { setMode(mode === 'org' ? 'platform' : 'org'); (mode === 'org' ? tenant : email).focus(); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const missing = [];
    if (mode === 'org' && !tenant.value.trim()) missing.push([tenant, 'organization']);
    if (!email.value.trim()) missing.push([email, 'email']);
    if (!password.value) missing.push([password, 'password']);
    if (missing.length) {
      error.textContent = `Enter your ${missing.map((m) => m[1]).join(', ')}.`;
      missing[0][0].focus();
      return;
    }
    // Only the shape here: accounts made before the server required a dotted
    // domain (and the bootstrap admin@localhost) must still be able to sign in.
    if (!/^[^@\s]+@[^@\s]+$/.test(email.value.trim())) {
      error.textContent = 'Enter your email address, like name@example.com.';
      email.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      if (mode === 'org') await api.login(tenant.value.trim().toLowerCase(), email.value.trim(), password.value);
      else await api.platformLogin(email.value.trim(), password.value);
      password.value = '';
      await onSignedIn();
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (err.code === 'invalid_credentials') {
        error.textContent = mode === 'org'
          ? 'Wrong organization, email or password.'
          : 'Wrong email or password.';
        password.value = '';
        password.focus();
      } else if (err.code === 'rate_limited') {
        error.textContent = `Too many sign-in attempts. Wait ${err.retryAfter || 60} seconds, then try again.`;
      } else if (err.code === 'session_limit_reached') {
        error.textContent = api.sessionLimitMessage(err.limit);
      } else if (err.code === 'validation_failed') {
        error.textContent = 'Check the organization name and email address.';
      } else if (err.status === 0) {
        error.textContent = 'The server could not be reached. Check your connection.';
      } else {
        error.textContent = err.message || 'Sign-in failed.';
      }
    }
  });

  clear(root);
  root.append(h('main', { id: 'main', class: 'signin-page' },
    h('div', { class: 'signin-card' },
      h('div', { class: 'signin-brand' }, h('img', { src: '/favicon.svg', alt: '', width: 32, height: 32 }), h('span', null, 'sessiond')),
      title,
      notice,
      insecure,
      form,
      h('div', { class: 'signin-switch' }, switchLink)),
    h('p', { class: 'signin-foot muted' }, 'Sessions, revocation and audit for your organization. ',
      h('a', { href: '/api-docs', id: 'api-docs-link' }, 'API reference'))));
  setMode('org');
  (message ? tenant : tenant).focus();
}
