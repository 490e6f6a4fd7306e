// Tiny DOM helpers. Data is only ever put into the page as text nodes or
// attribute values (never innerHTML), so nothing a user typed can run.

/**
 * h('button', {class: 'btn', onclick: fn}, 'Label', child, [more])
 * Props: class, text, dataset, on* listeners, booleans (true → attribute),
 * and anything else as an attribute.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  add(el, children);
  return el;
}

export function add(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function $$(sel, root = document) {
  return Array.from(root.querySelectorAll(sel));
}

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field. */
export function field(label, input, hint) {
  if (!input.id) input.id = nextId('field');
  const hintEl = hint ? h('p', { class: 'hint', id: input.id + '-hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  const err = h('p', { class: 'field-error', id: input.id + '-error', role: 'alert' });
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl, err);
}

/** Show (or clear) the error of a field built by field(). */
export function fieldError(input, message) {
  const err = document.getElementById(input.id + '-error');
  if (err) err.textContent = message || '';
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** Debounce. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A status line announced to screen readers. */
export function toast(message, kind = 'ok') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  region.append(el);
  setTimeout(() => el.classList.add('toast-leave'), 4500);
  setTimeout(() => el.remove(), 5000);
}

/** The one <dialog>: resolves to the form's values, or null when cancelled. */
export function dialog({ title, body = [], fields = [], confirm = 'Confirm', danger = false, cancel = 'Cancel', validate }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' });
    const form = h('form', { method: 'dialog', novalidate: true });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', value: 'ok' }, confirm);
    const no = h('button', { type: 'button', class: 'btn', value: 'cancel' }, cancel);
    add(form, [
      h('h2', { id: 'dialog-title' }, title),
      h('div', { class: 'dialog-body' }, body),
      fields.map((f) => f.node),
      error,
      h('div', { class: 'dialog-actions' }, no, ok),
    ]);
    dlg.append(form);
    document.body.append(dlg);
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      resolve(value);
    };
    no.addEventListener('click', () => finish(null));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const values = {};
      for (const f of fields) values[f.name] = f.input.type === 'checkbox' ? f.input.checked : f.input.value;
      for (const f of fields) fieldError(f.input, '');
      if (validate) {
        const problems = validate(values) || {};
        const names = Object.keys(problems);
        if (names.length) {
          for (const f of fields) if (problems[f.name]) fieldError(f.input, problems[f.name]);
          const first = fields.find((f) => problems[f.name]);
          if (first) first.input.focus();
          return;
        }
      }
      if (typeof validate === 'function' && validate.async) {
        ok.disabled = true;
        try {
          await validate.async(values);
        } catch (err) {
          error.textContent = err.message;
          ok.disabled = false;
          return;
        }
      }
      finish(values);
    });
    dlg.showModal();
    const first = fields.length ? fields[0].input : no;
    first.focus();
  });
}

/** A field description for dialog(). */
export function dialogField(name, label, input, hint) {
  input.name = name;
  return { name, input, node: field(label, input, hint) };
}

/**
 * Why `raw` is not an email address the server accepts, or '' when it is.
 * Mirrors the server's rule (domain/user.rs normalize_email): one `@`, a
 * non-empty local part, a domain with a dot that neither starts nor ends
 * with one nor holds two in a row (`localhost` aside: the default global
 * admin's), no spaces or invisible characters, at most 254 characters.
 */
export function emailProblem(raw) {
  // The server folds look-alikes (NFKC) before it checks, so "ａ@ｂ．ｃｏ" counts as "a@b.co".
  const e = String(raw || '').trim().normalize('NFKC');
  if (!e) return 'Enter an email address.';
  // Control, format and zero-width characters, and any whitespace.
  if (/[\s\p{Cc}\p{Cf}]/u.test(e)) return 'An email address has no spaces or invisible characters.';
  const at = e.indexOf('@');
  if (at < 0) return 'An email address needs an @, like name@example.com.';
  if (e.indexOf('@', at + 1) >= 0) return 'An email address has exactly one @.';
  const local = e.slice(0, at);
  const domain = e.slice(at + 1);
  if (!local) return 'Put the name before the @, like name@example.com.';
  if (!domain) return 'Put the domain after the @, like name@example.com.';
  const dotted = domain.includes('.') || domain.toLowerCase() === 'localhost';
  if (!dotted || domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) {
    return `After the @ comes a domain with a dot, like example.com (“${domain}” is not one).`;
  }
  if (e.length > 254) return 'An email address has at most 254 characters.';
  return '';
}

/**
 * The three pictures of a list that is not (yet) a list: 'loading', 'empty'
 * and 'error' look different and say different things. An error offers
 * Retry when `retry` is given. Tests and styles find them by data-state.
 */
export function stateBox(kind, text, { retry, id } = {}) {
  if (kind === 'loading') {
    return h('div', { class: 'state state-loading', dataset: { state: 'loading' }, role: 'status', 'aria-busy': 'true', id },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }), text || 'Loading…');
  }
  if (kind === 'error') {
    return h('div', { class: 'state state-error', dataset: { state: 'error' }, role: 'alert', id },
      h('p', { class: 'state-title' }, 'Could not load this.'),
      h('p', null, text || 'Something went wrong.'),
      retry ? h('button', { type: 'button', class: 'btn btn-small', dataset: { role: 'retry' }, onclick: retry }, 'Retry') : null);
  }
  return h('p', { class: 'state empty-state muted', dataset: { state: 'empty' }, id }, text || 'Nothing here yet.');
}

/** A sentence for a failed load: unreachable server, refused, or the server's own message. */
export function loadError(e) {
  if (!e) return 'Something went wrong.';
  if (e.status === 0) return 'The server could not be reached. Check the connection, then retry.';
  if (e.status === 403) return 'You are not allowed to see this.';
  if (e.status >= 500) return `The server had a problem (${e.message}). Retry in a moment.`;
  return e.message || `HTTP ${e.status}`;
}

/** Copy `text` to the clipboard; resolves true when it worked. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back below */ }
  const ta = h('textarea', { class: 'sr-only', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

/** A "Copy" button for `text` that says when it copied. */
export function copyButton(text, { label = 'Copy', what = 'value', id } = {}) {
  const btn = h('button', { type: 'button', class: 'btn btn-small btn-copy', id, dataset: { role: 'copy' }, 'aria-label': `Copy ${what}` }, label);
  btn.addEventListener('click', async () => {
    const ok = await copyText(typeof text === 'function' ? text() : text);
    btn.textContent = ok ? 'Copied' : 'Copy failed: select and copy by hand';
    btn.dataset.copied = ok ? 'true' : 'false';
    toast(ok ? `Copied the ${what}.` : `Could not copy the ${what}; select it and copy by hand.`, ok ? 'ok' : 'warn');
    setTimeout(() => { btn.textContent = label; }, 2500);
  });
  return btn;
}

// ---- leaving a screen with unsaved changes ----

let leaveGuard = null;

/**
 * A screen with unsaved changes registers `fn`, which answers a sentence
 * describing them (or '' when there are none). The shell asks before
 * in-app navigation; beforeunload covers reloads and closing the tab.
 */
export function setLeaveGuard(fn) {
  leaveGuard = fn || null;
}

function unsaved() {
  try { return leaveGuard ? leaveGuard() : ''; } catch { return ''; }
}

/** Resolves true when the screen may be left (nothing unsaved, or the admin chose to discard). */
export async function confirmLeave() {
  const what = unsaved();
  if (!what) return true;
  const v = await dialog({
    title: 'Leave without saving?',
    body: [h('p', { id: 'leave-what' }, what), h('p', { class: 'muted' }, 'If you leave now, these changes are lost.')],
    confirm: 'Discard changes and leave',
    cancel: 'Stay on this page',
    danger: true,
  });
  if (v) leaveGuard = null;
  return !!v;
}

window.addEventListener('beforeunload', (e) => {
  if (!unsaved()) return;
  e.preventDefault();
  e.returnValue = '';
});

// ---- durations entered in human units ----

const UNIT_SECS = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };

/**
 * A dialog field for a duration: a number and a unit select, with the
 * seconds it makes shown next to them. `seconds()` reads it (NaN when the
 * entry is not a whole number of seconds). Starts at `secs` in the largest
 * offered unit that expresses it exactly.
 */
export function durationField(name, label, { secs = 3600, units = ['minutes', 'hours', 'days'], hint } = {}) {
  const amount = h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', size: 6 });
  const unit = h('select', { 'aria-label': `${label}: unit`, name: `${name}-unit` }, units.map((u) => h('option', { value: u }, u)));
  const out = h('output', { class: 'unit unit-secs muted', 'aria-live': 'polite' });
  const pick = units.slice().sort((a, b) => UNIT_SECS[b] - UNIT_SECS[a]).find((u) => secs % UNIT_SECS[u] === 0) || units[0];
  amount.value = String(secs / UNIT_SECS[pick]);
  unit.value = pick;
  const seconds = () => {
    const t = amount.value.trim().replace(',', '.');
    if (!/^\d+(\.\d+)?$/.test(t)) return NaN;
    const s = Number(t) * UNIT_SECS[unit.value];
    return Math.abs(s - Math.round(s)) < 1e-6 ? Math.round(s) : NaN;
  };
  const show = () => { const s = seconds(); out.textContent = Number.isInteger(s) ? `= ${s} seconds` : ''; };
  amount.addEventListener('input', show);
  unit.addEventListener('change', show);
  show();
  amount.name = name;
  if (!amount.id) amount.id = nextId('field');
  unit.id = `${amount.id}-unit`;
  const node = field(label, h('div', { class: 'input-unit' }, amount, unit, out), hint);
  node.querySelector('label').setAttribute('for', amount.id);
  const err = node.querySelector('.field-error');
  err.id = `${amount.id}-error`;
  const hintEl = node.querySelector('.hint');
  amount.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
  return { name, input: amount, node, seconds };
}
