// Policy: token TTL, idle and absolute timeouts, reuse grace, max support
// grant — each entered as a number and a unit (the seconds the API stores
// shown next to it) — the minimum password length, and the session limit
// per user (0 = unlimited) with what a sign-in past it does. Leaving with
// unsaved changes asks first.

import * as api from '../api.js';
import { h, clear, toast, field, fieldError, setLeaveGuard, stateBox, loadError } from '../dom.js';
import { duration } from '../format.js';

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

/** Units a duration can be entered in, largest first. */
export const UNITS = [['days', DAY], ['hours', HOUR], ['minutes', MIN], ['seconds', 1]];

// Mirrors the server's ranges (domain/policy.rs) so mistakes show before saving.
// [name, label, min, max, hint, kind, units offered]
export const FIELDS = [
  ['access_token_ttl_secs', 'Access token lifetime', 30, DAY, 'How long an access token works before the client must refresh it. Short is safer; revocation is immediate either way.', 'duration', ['hours', 'minutes', 'seconds']],
  ['idle_timeout_secs', 'Idle timeout', 60, 90 * DAY, 'A session unused for this long ends.', 'duration', ['days', 'hours', 'minutes']],
  ['absolute_timeout_secs', 'Absolute timeout', 300, 365 * DAY, 'A session ends this long after sign-in, however active.', 'duration', ['days', 'hours', 'minutes']],
  ['refresh_reuse_grace_secs', 'Refresh reuse grace', 0, 300, 'Tolerates a racing duplicate refresh for this long; 0 treats every replay as theft.', 'duration', ['minutes', 'seconds']],
  ['max_support_grant_secs', 'Maximum support grant', 60, 30 * DAY, 'The longest support access you can grant a platform administrator.', 'duration', ['days', 'hours', 'minutes']],
  ['min_password_length', 'Minimum password length', 8, 128, 'For new passwords of your users; administrators always need at least 12. Common passwords are refused whatever their length.', 'count'],
  ['max_sessions_per_user', 'Sessions per user', 0, 1000, 'The most sessions one user may hold at once, checked at each sign-in (support sessions do not count). 0 means unlimited.', 'sessions'],
];

/** What a sign-in past the limit does (the policy's session_limit_action). */
export const LIMIT_ACTIONS = [
  ['evict_oldest', 'End the least recently active session'],
  ['refuse', 'Refuse the new sign-in'],
];
const ACTION_LABEL = 'When the limit is reached';

const isDuration = (f) => f[5] === 'duration';
const unitSecs = (u) => (UNITS.find(([n]) => n === u) || ['seconds', 1])[1];

/** The largest offered unit that expresses `secs` exactly: 604800 → [7, 'days']. */
export function bestUnit(secs, offered) {
  const units = UNITS.filter(([n]) => offered.includes(n));
  for (const [name, n] of units) {
    if (secs !== 0 && secs % n === 0) return [secs / n, name];
  }
  const smallest = units[units.length - 1];
  return [secs / smallest[1], smallest[0]];
}

/** Seconds from what was typed and the unit chosen; NaN unless it is a whole number of seconds. */
export function toSeconds(text, unit) {
  const t = String(text).trim().replace(',', '.');
  if (t === '' || !/^\d+(\.\d+)?$/.test(t)) return NaN;
  const secs = Number(t) * unitSecs(unit);
  const rounded = Math.round(secs);
  return Math.abs(secs - rounded) < 1e-6 ? rounded : NaN;
}

/** Problems of a policy given as numbers (seconds and counts), by field name. */
export function validatePolicy(v) {
  const problems = {};
  for (const f of FIELDS) {
    const [name, , lo, hi] = f;
    const n = Number(v[name]);
    if (v[name] === '' || v[name] === null || !Number.isInteger(n)) {
      problems[name] = isDuration(f) ? 'Enter a number (a whole number of seconds in the end).' : 'Enter a whole number.';
    } else if (n < lo || n > hi) {
      problems[name] = isDuration(f)
        ? `Must be between ${duration(lo)} and ${duration(hi)} (${lo}–${hi} seconds).`
        : `Must be between ${lo} and ${hi}.`;
    }
  }
  if (!problems.absolute_timeout_secs && !problems.idle_timeout_secs && Number(v.absolute_timeout_secs) < Number(v.idle_timeout_secs)) {
    problems.absolute_timeout_secs = 'Must not be shorter than the idle timeout.';
  }
  return problems;
}

export function renderPolicy(main, ctx) {
  const tenant = ctx.tenant;
  const inputs = {};
  const units = {};
  const secsOut = {};
  const form = h('form', { class: 'card policy-form', novalidate: true, 'aria-labelledby': 'policy-title', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'policy-save', disabled: true }, 'Save policy');
  const undo = h('button', { type: 'button', class: 'btn', id: 'policy-undo', disabled: true }, 'Undo changes');
  const dirtyNote = h('p', { class: 'muted small', id: 'policy-dirty', 'aria-live': 'polite' });
  const formError = h('p', { class: 'form-error', role: 'alert' });
  const status = h('div', { id: 'policy-state' }, stateBox('loading', 'Loading the policy…'));
  let loaded = null;

  for (const f of FIELDS) {
    const [name, label, lo, hi, hint] = f;
    const input = h('input', { type: 'text', id: `policy-${name}`, name, inputmode: isDuration(f) ? 'decimal' : 'numeric', required: true, autocomplete: 'off', size: 8 });
    inputs[name] = input;
    let control;
    if (isDuration(f)) {
      const sel = h('select', { id: `policy-${name}-unit`, name: `${name}-unit`, 'aria-label': `${label}: unit` },
        UNITS.filter(([u]) => f[6].includes(u)).map(([u]) => h('option', { value: u }, u)));
      units[name] = sel;
      secsOut[name] = h('output', { class: 'unit unit-secs muted', id: `policy-${name}-secs`, for: `${input.id} ${sel.id}`, 'aria-live': 'polite' });
      control = h('div', { class: 'input-unit' }, input, sel, secsOut[name]);
      sel.addEventListener('change', () => update());
    } else if (f[5] === 'sessions') {
      secsOut[name] = h('output', { class: 'unit muted', id: `policy-${name}-meaning`, for: input.id, 'aria-live': 'polite' });
      control = h('div', { class: 'input-unit' }, input, secsOut[name]);
    } else {
      secsOut[name] = h('span', { class: 'unit muted' }, 'characters');
      control = h('div', { class: 'input-unit' }, input, secsOut[name]);
    }
    const allowed = isDuration(f) ? `${duration(lo)} to ${duration(hi)}` : f[5] === 'sessions' ? `${lo} (unlimited) to ${hi}` : `${lo} to ${hi}`;
    const wrap = field(label, control, `${hint} Allowed: ${allowed}.`);
    if (f[5] === 'sessions') form.append(h('h2', { class: 'subhead', id: 'policy-limit-head' }, 'Session limit'));
    // field() labels the first control; point the label at the number itself.
    wrap.querySelector('label').setAttribute('for', input.id);
    const err = wrap.querySelector('.field-error');
    err.id = `${input.id}-error`;
    const hintEl = wrap.querySelector('.hint');
    if (hintEl) input.setAttribute('aria-describedby', `${hintEl.id} ${err.id}`);
    form.append(wrap);
    input.addEventListener('input', () => update());
  }
  const action = h('select', { id: 'policy-session_limit_action', name: 'session_limit_action' },
    LIMIT_ACTIONS.map(([v, text]) => h('option', { value: v }, text)));
  const actionNote = h('p', { class: 'hint', id: 'policy-session_limit_action-note', 'aria-live': 'polite' });
  const actionWrap = field(ACTION_LABEL, action,
    'Ending the least recently active session signs that device out at once. Refusing tells the person how many sessions they already have, so they can sign out elsewhere first.');
  actionWrap.append(actionNote);
  action.setAttribute('aria-describedby', `${action.getAttribute('aria-describedby')} ${actionNote.id}`);
  action.addEventListener('change', () => update());
  form.append(actionWrap);
  form.append(formError, h('div', { class: 'actions-row' }, save, undo), dirtyNote);

  main.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'policy-title' }, 'Policy'),
      h('p', { class: 'muted' }, 'Session lifetimes and limits for ', h('strong', null, ctx.tenantName || tenant), '. Changes apply to new tokens and to every session’s next check; the session limit, to the next sign-in.')),
    status,
    form);

  /** The policy as the API wants it: seconds and counts (NaN where the entry is unusable). */
  function values() {
    const v = {};
    for (const f of FIELDS) {
      const name = f[0];
      const raw = inputs[name].value.trim();
      if (isDuration(f)) v[name] = raw === '' ? '' : toSeconds(raw, units[name].value);
      else v[name] = raw === '' ? '' : (/^\d+$/.test(raw) ? Number(raw) : NaN);
    }
    v.session_limit_action = action.value;
    return v;
  }

  function changedLabels() {
    if (!loaded) return [];
    const v = values();
    const changed = FIELDS.filter(([n]) => v[n] !== loaded[n]).map((f) => f[1]);
    if (v.session_limit_action !== (loaded.session_limit_action || 'evict_oldest')) changed.push(ACTION_LABEL);
    return changed;
  }

  function update() {
    const v = values();
    const problems = validatePolicy(v);
    for (const f of FIELDS) {
      const name = f[0];
      if (isDuration(f)) {
        const n = v[name];
        secsOut[name].textContent = Number.isInteger(n) ? `= ${n} seconds${n >= 60 ? ` (${duration(n)})` : ''}` : '';
      } else if (f[5] === 'sessions') {
        const n = v[name];
        secsOut[name].textContent = n === 0 ? '= unlimited' : Number.isInteger(n) ? (n === 1 ? 'session at a time' : 'sessions at a time') : '';
      }
      fieldError(inputs[name], problems[name]);
    }
    const changed = changedLabels();
    save.disabled = !changed.length || Object.keys(problems).length > 0;
    undo.disabled = !changed.length;
    dirtyNote.textContent = changed.length ? `Not saved yet: ${changed.join(', ')}.` : '';
    form.dataset.dirty = changed.length ? 'true' : 'false';
    const limit = v.max_sessions_per_user;
    actionNote.textContent = limit === 0 ? 'No effect while sessions per user is unlimited (0).'
      : Number.isInteger(limit) && limit > 0
        ? `A user with ${limit} active session${limit === 1 ? '' : 's'} who signs in again: ${action.value === 'refuse' ? 'the sign-in is refused.' : 'their least recently active session ends.'}`
        : '';
    return problems;
  }

  setLeaveGuard(() => {
    const changed = changedLabels();
    if (!changed.length) return '';
    return `You changed ${changed.length === 1 ? changed[0] : `${changed.slice(0, -1).join(', ')} and ${changed[changed.length - 1]}`} but did not save.`;
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    const problems = update();
    if (Object.keys(problems).length) return;
    // PUT replaces the whole policy: keep any field this screen does not show.
    const body = { ...loaded, ...values() };
    save.disabled = true;
    try {
      loaded = await api.put(api.t(tenant, '/policy'), body);
      toast('Policy saved.');
      fill();
    } catch (err) {
      if (err.status === 401) return;
      for (const [name, msg] of Object.entries(err.details || {})) if (inputs[name]) fieldError(inputs[name], msg);
      formError.textContent = err.code === 'validation_failed' ? 'Some values are out of range.'
        : err.status === 0 ? 'Not saved: the server could not be reached. Your changes are still here; retry when it answers.'
          : `Could not save: ${err.message}`;
      save.disabled = false;
    }
  });

  undo.addEventListener('click', () => { fill(); inputs[FIELDS[0][0]].focus(); });

  function fill() {
    for (const f of FIELDS) {
      const name = f[0];
      if (isDuration(f)) {
        const [n, unit] = bestUnit(loaded[name], f[6]);
        inputs[name].value = String(n);
        units[name].value = unit;
      } else {
        inputs[name].value = String(loaded[name]);
      }
    }
    action.value = loaded.session_limit_action || 'evict_oldest';
    update();
  }

  function load() {
    clear(status).append(stateBox('loading', 'Loading the policy…'));
    api.get(api.t(tenant, '/policy')).then((p) => {
      loaded = p;
      clear(status);
      form.hidden = false;
      fill();
    }).catch((e) => {
      if (e.status === 401) return;
      clear(status).append(stateBox('error', `Could not load the policy: ${loadError(e)}`, { retry: load }));
    });
  }
  load();

  return () => setLeaveGuard(null);
}
