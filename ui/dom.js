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
