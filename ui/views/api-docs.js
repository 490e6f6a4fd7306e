// The API reference: renders /openapi.json (generated from the server's
// code) for people. Public: no sign-in. Text only ever enters the page as
// text nodes (dom.js), never as HTML.

import { h, add, clear } from '../dom.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];
const main = document.getElementById('main');
let doc = null;

/** Inline `code` spans of a description as <code>, the rest as text. */
function prose(text, tag = 'p') {
  if (!text) return null;
  return String(text).split(/\n{2,}/).map((para) => {
    const parts = para.replace(/\s*\n\s*/g, ' ').split('`');
    return h(tag, { class: 'api-prose' }, parts.map((p, i) => (i % 2 ? h('code', null, p) : p)));
  });
}

function refName(ref) {
  return decodeURIComponent(ref.split('/').pop().replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Follow a local $ref. */
function resolve(v) {
  let seen = 0;
  while (v && v.$ref && seen++ < 16) {
    const path = v.$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    v = path.reduce((o, k) => (o ? o[k] : undefined), doc);
  }
  return v || {};
}

function schemaLink(ref) {
  const name = refName(ref);
  return h('a', { href: `#schema-${name}`, class: 'api-ref' }, name);
}

/** A one-line type: `string (uuid)`, `User[]`, `Grant | null`, `"a" | "b"`. */
function typeOf(s) {
  if (!s) return 'any';
  if (s.$ref) return schemaLink(s.$ref);
  const alt = s.oneOf || s.anyOf;
  if (alt) return join(alt.map(typeOf), ' | ');
  if (s.allOf) return join(s.allOf.map(typeOf), ' & ');
  if (s.enum) return join(s.enum.map((v) => h('code', null, JSON.stringify(v))), ' | ');
  if (s.const !== undefined) return h('code', null, JSON.stringify(s.const));
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (!types.length) return s.properties ? 'object' : 'any';
  return join(types.map((t) => {
    if (t === 'array') return [typeOf(s.items), '[]'];
    if (t === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
      return ['map of ', typeOf(s.additionalProperties)];
    }
    return s.format && t !== 'null' ? `${t} (${s.format})` : t;
  }), ' | ');
}

function join(items, sep) {
  return items.flatMap((x, i) => (i ? [sep, x] : [x]));
}

/** Constraints worth a reader's eye. */
function constraints(s) {
  const out = [];
  const add = (label, v) => { if (v !== undefined && v !== null) out.push(`${label} ${typeof v === 'string' ? v : JSON.stringify(v)}`); };
  add('min', s.minimum); add('max', s.maximum); add('min length', s.minLength); add('max length', s.maxLength);
  add('min items', s.minItems); add('max items', s.maxItems); add('pattern', s.pattern); add('default', s.default);
  return out.length ? h('div', { class: 'api-constraints muted small' }, out.join(' · ')) : null;
}

/** A property's description: its own, one on a `oneOf` branch, or its schema's. */
function describe(p) {
  const branch = (p.oneOf || p.anyOf || []).find((x) => x.description);
  return p.description || (branch && branch.description) || resolve(p).description;
}

/** An object schema's properties as a table; anything else as its type. */
function schemaBlock(schema, depth = 0) {
  const s = resolve(schema);
  const title = schema && schema.$ref ? h('p', { class: 'api-schema-name' }, 'Schema ', schemaLink(schema.$ref)) : null;
  if (s.properties) {
    const required = new Set(s.required || []);
    const rows = Object.entries(s.properties).map(([name, p]) => h('tr', null,
      h('td', null, h('code', null, name), required.has(name) ? h('span', { class: 'api-req', title: 'required' }, ' *') : null),
      h('td', null, typeOf(p)),
      h('td', null, prose(describe(p), 'div'), constraints(p))));
    return h('div', { class: 'api-schema' }, title, prose(s.description),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table api-table' },
        h('thead', null, h('tr', null, h('th', null, 'Field'), h('th', null, 'Type'), h('th', null, 'Description'))),
        h('tbody', null, rows))),
      required.size ? h('p', { class: 'muted small' }, '* always present / required') : null);
  }
  const alt = s.oneOf || s.anyOf;
  if (alt && depth < 1) {
    return h('div', { class: 'api-schema' }, title, prose(s.description), h('p', null, 'One of: ', typeOf(s)),
      alt.filter((x) => x.$ref).map((x) => schemaBlock(x, depth + 1)));
  }
  return h('div', { class: 'api-schema' }, title, prose(s.description), h('p', null, typeOf(s)), constraints(s));
}

function content(c) {
  return Object.entries(c || {}).map(([type, media]) => h('div', { class: 'api-media' },
    h('p', { class: 'muted small' }, h('code', null, type)),
    media.schema ? schemaBlock(media.schema) : null));
}

function securityText(op) {
  const reqs = op.security || doc.security || [];
  if (!reqs.length) return 'none';
  return reqs.map((r) => {
    const names = Object.keys(r);
    return names.length ? names.join(' + ') : 'none';
  }).join(' or ');
}

function parameters(op, item) {
  const params = [...(item.parameters || []), ...(op.parameters || [])].map(resolve);
  if (!params.length) return null;
  return h('section', { class: 'api-block' }, h('h4', null, 'Parameters'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table api-table' },
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'In'), h('th', null, 'Type'), h('th', null, 'Description'))),
      h('tbody', null, params.map((p) => h('tr', null,
        h('td', null, h('code', null, p.name), p.required ? h('span', { class: 'api-req', title: 'required' }, ' *') : null),
        h('td', null, p.in),
        h('td', null, typeOf(p.schema)),
        h('td', null, prose(p.description, 'div'), p.schema ? constraints(resolve(p.schema)) : null)))))));
}

function responses(op) {
  const entries = Object.entries(op.responses || {}).sort(([a], [b]) => a.localeCompare(b));
  return h('section', { class: 'api-block' }, h('h4', null, 'Responses'),
    entries.map(([code, r]) => {
      const res = resolve(r);
      const kind = code[0] === '2' ? 'ok' : code[0] === '4' || code[0] === '5' ? 'err' : 'other';
      const headers = Object.entries(res.headers || {});
      return h('div', { class: `api-response api-response-${kind}`, dataset: { status: code } },
        h('div', { class: 'api-response-head' },
          h('span', { class: `api-status api-status-${kind}` }, code),
          h('div', null, prose(res.description, 'div'),
            r.$ref ? h('p', { class: 'muted small' }, 'Shared response ', h('code', null, refName(r.$ref))) : null)),
        headers.length ? h('p', { class: 'small' }, 'Headers: ', join(headers.map(([name, hd]) =>
          h('span', { title: resolve(hd).description || '' }, h('code', null, name))), ', ')) : null,
        content(res.content));
    }));
}

function operation(path, method, op, item) {
  const id = `op-${op.operationId || `${method}-${path}`}`;
  const body = op.requestBody ? resolve(op.requestBody) : null;
  const errors = Object.keys(op.responses || {}).filter((c) => c[0] === '4' || c[0] === '5');
  const details = h('details', { class: 'api-op', id, dataset: { method, path } },
    h('summary', null,
      h('span', { class: `api-method api-method-${method}` }, method.toUpperCase()),
      h('code', { class: 'api-path' }, path),
      h('span', { class: 'api-summary' }, op.summary || ''),
      errors.length ? h('span', { class: 'api-errors muted small' }, errors.join(' ')) : null),
    h('div', { class: 'api-op-body' },
      prose(op.description),
      h('p', { class: 'small' }, h('strong', null, 'Authentication: '), securityText(op),
        op.operationId ? [' · operationId ', h('code', null, op.operationId)] : null),
      parameters(op, item),
      body ? h('section', { class: 'api-block' }, h('h4', null, body.required ? 'Request body' : 'Request body (optional)'),
        prose(body.description), content(body.content)) : null,
      responses(op)));
  return details;
}

function render() {
  clear(main);
  const info = doc.info || {};
  const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
      byTag.get(tag).ops.push([path, m, op, item]);
    }
  }
  const filter = h('input', { type: 'search', id: 'api-filter', placeholder: 'Filter by path or summary', 'aria-label': 'Filter operations' });
  const sections = [...byTag.values()].filter((g) => g.ops.length).map(({ tag, ops }) =>
    h('section', { class: 'section api-tag', id: `tag-${tag.name}`, dataset: { tag: tag.name } },
      h('h2', null, tag.name), prose(tag.description),
      ops.map(([p, m, op, item]) => operation(p, m, op, item))));
  const schemas = Object.entries((doc.components && doc.components.schemas) || {}).sort(([a], [b]) => a.localeCompare(b));
  add(main, [
    h('div', { class: 'page-head' },
      h('h1', null, `${info.title || 'API'} API reference`),
      h('p', { class: 'muted' }, `Version ${info.version || '?'} · OpenAPI ${doc.openapi} · `,
        h('a', { href: '/openapi.json' }, 'openapi.json'), ' (generated from the server\'s code)')),
    prose(info.description),
    h('nav', { class: 'api-toc', 'aria-label': 'Sections' },
      [...byTag.values()].filter((g) => g.ops.length).map(({ tag, ops }) =>
        h('a', { href: `#tag-${tag.name}` }, `${tag.name} (${ops.length})`)),
      h('a', { href: '#schemas' }, `schemas (${schemas.length})`)),
    h('div', { class: 'toolbar' }, filter, h('button', { type: 'button', class: 'btn btn-small', id: 'api-expand', onclick: () => toggleAll(true) }, 'Expand all'),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => toggleAll(false) }, 'Collapse all')),
    sections,
    h('section', { class: 'section', id: 'schemas' }, h('h2', null, 'Schemas'),
      schemas.map(([name, s]) => h('details', { class: 'api-op api-schema-entry', id: `schema-${name}` },
        h('summary', null, h('code', { class: 'api-path' }, name), h('span', { class: 'api-summary muted' }, firstLine(s.description))),
        h('div', { class: 'api-op-body' }, schemaBlock(s)))))]);
  filter.addEventListener('input', () => applyFilter(filter.value));
  openHash();
}

function firstLine(text) {
  return text ? String(text).split(/\.\s|\n/)[0] : '';
}

function toggleAll(open) {
  for (const d of main.querySelectorAll('.api-tag details.api-op')) d.open = open;
}

function applyFilter(q) {
  const needle = q.trim().toLowerCase();
  for (const sec of main.querySelectorAll('.api-tag')) {
    let shown = 0;
    for (const d of sec.querySelectorAll('details.api-op')) {
      const hay = `${d.dataset.method} ${d.dataset.path} ${d.querySelector('.api-summary').textContent}`.toLowerCase();
      const show = !needle || hay.includes(needle);
      d.hidden = !show;
      if (show) shown += 1;
    }
    sec.hidden = shown === 0;
  }
}

/** Open the operation or schema the URL points at (and its schema links). */
function openHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (!id) return;
  const el = document.getElementById(id);
  if (el && el.tagName === 'DETAILS') {
    el.open = true;
    el.scrollIntoView();
  }
}
window.addEventListener('hashchange', openHash);

async function load() {
  try {
    const res = await fetch('/openapi.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = await res.json();
    render();
    main.dataset.ready = 'true';
  } catch (e) {
    clear(main);
    main.append(h('div', { class: 'notice notice-error', role: 'alert' },
      `Could not load /openapi.json: ${e.message}`));
  }
}

load();
