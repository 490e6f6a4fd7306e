// Policy: token TTL, idle and absolute timeouts, reuse grace, max support grant.

import * as api from '../api.js';
import { h, toast, field, fieldError } from '../dom.js';
import { duration } from '../format.js';

const DAY = 86400;
// Mirrors the server's ranges (domain/policy.rs) so mistakes show before saving.
export const FIELDS = [
  ['access_token_ttl_secs', 'Access token lifetime', 30, DAY, 'How long an access token works before the client must refresh it. Short is safer; revocation is immediate either way.'],
  ['idle_timeout_secs', 'Idle timeout', 60, 90 * DAY, 'A session unused for this long ends.'],
  ['absolute_timeout_secs', 'Absolute timeout', 300, 365 * DAY, 'A session ends this long after sign-in, however active.'],
  ['refresh_reuse_grace_secs', 'Refresh reuse grace', 0, 300, 'Tolerates a racing duplicate refresh for this long; 0 treats every replay as theft.'],
  ['max_support_grant_secs', 'Maximum support grant', 60, 30 * DAY, 'The longest support access you can grant a platform administrator.'],
  ['min_password_length', 'Minimum password length', 8, 128, 'For new passwords of your users; administrators always need at least 12. Common passwords are refused whatever their length.', 'characters'],
];

const unitOf = (f) => f[5] || 'seconds';

export function validatePolicy(v) {
  const problems = {};
  for (const f of FIELDS) {
    const [name, , lo, hi] = f;
    const n = Number(v[name]);
    const secs = unitOf(f) === 'seconds';
    if (v[name] === '' || !Number.isInteger(n)) problems[name] = `Enter a whole number of ${unitOf(f)}.`;
    else if (n < lo || n > hi) problems[name] = secs ? `Must be between ${lo} (${duration(lo)}) and ${hi} (${duration(hi)}).` : `Must be between ${lo} and ${hi}.`;
  }
  if (!problems.absolute_timeout_secs && !problems.idle_timeout_secs && Number(v.absolute_timeout_secs) < Number(v.idle_timeout_secs)) {
    problems.absolute_timeout_secs = 'Must not be shorter than the idle timeout.';
  }
  return problems;
}

export function renderPolicy(main, ctx) {
  const tenant = ctx.tenant;
  const inputs = {};
  const human = {};
  const form = h('form', { class: 'card policy-form', novalidate: true, 'aria-labelledby': 'policy-title' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'policy-save', disabled: true }, 'Save policy');
  const formError = h('p', { class: 'form-error', role: 'alert' });
  let loaded = null;

  for (const f of FIELDS) {
    const [name, label, lo, hi, hint] = f;
    const input = h('input', { type: 'number', id: `policy-${name}`, name, min: lo, max: hi, step: 1, inputmode: 'numeric', required: true });
    human[name] = h('span', { class: 'unit muted', 'aria-live': 'polite' });
    inputs[name] = input;
    const wrap = field(`${label} (${unitOf(f)})`, h('div', { class: 'input-unit' }, input, human[name]), hint);
    // field() labels the first control; point the label at the input itself.
    wrap.querySelector('label').setAttribute('for', input.id);
    const err = wrap.querySelector('.field-error');
    err.id = `${input.id}-error`;
    const hintEl = wrap.querySelector('.hint');
    if (hintEl) input.setAttribute('aria-describedby', `${hintEl.id} ${err.id}`);
    form.append(wrap);
    input.addEventListener('input', () => { update(); });
  }
  form.append(formError, h('div', { class: 'actions-row' }, save));

  main.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'policy-title' }, 'Policy'),
      h('p', { class: 'muted' }, 'Session lifetimes for ', h('strong', null, ctx.tenantName || tenant), '. Changes apply to new tokens and to every session’s next check.')),
    form);

  function values() {
    const v = {};
    for (const [name] of FIELDS) v[name] = inputs[name].value.trim();
    return v;
  }

  function update() {
    const v = values();
    const problems = validatePolicy(v);
    for (const f of FIELDS) {
      const name = f[0];
      human[name].textContent = problems[name] || unitOf(f) !== 'seconds' ? '' : `= ${duration(Number(v[name]))}`;
      fieldError(inputs[name], problems[name]);
    }
    const changed = loaded && FIELDS.some(([n]) => String(loaded[n]) !== v[n]);
    save.disabled = !changed || Object.keys(problems).length > 0;
    return problems;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    const problems = update();
    if (Object.keys(problems).length) return;
    const v = values();
    const body = {};
    for (const [name] of FIELDS) body[name] = Number(v[name]);
    save.disabled = true;
    try {
      loaded = await api.put(api.t(tenant, '/policy'), body);
      toast('Policy saved.');
      fill();
    } catch (err) {
      if (err.status === 401) return;
      for (const [name, msg] of Object.entries(err.details || {})) if (inputs[name]) fieldError(inputs[name], msg);
      formError.textContent = err.code === 'validation_failed' ? 'Some values are out of range.' : `Could not save: ${err.message}`;
      save.disabled = false;
    }
  });

  function fill() {
    for (const [name] of FIELDS) inputs[name].value = String(loaded[name]);
    update();
  }

  api.get(api.t(tenant, '/policy')).then((p) => { loaded = p; fill(); })
    .catch((e) => { if (e.status !== 401) formError.textContent = `Could not load the policy: ${e.message}`; });
}
