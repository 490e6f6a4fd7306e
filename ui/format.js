// Formatting: relative times, durations, countdowns, user agents.

import { h } from './dom.js';

const exactFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

export function exact(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${exactFmt.format(d)} (${d.toISOString()})`;
}

export function relative(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const diff = Math.round((now - t) / 1000);
  const abs = Math.abs(diff);
  let text;
  if (abs < 10) return 'just now';
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)} h`;
  else if (abs < 86400 * 45) text = `${Math.floor(abs / 86400)} d`;
  else return new Date(t).toLocaleDateString();
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** <time> showing a relative time, the exact time on hover; kept fresh by tick(). */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: exact(iso), dataset: { rel: '1' } }, relative(iso));
}

/** Refresh every relative time and countdown on the page. */
export function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('time[data-rel]')) {
    el.textContent = relative(el.getAttribute('datetime'), now);
  }
  for (const el of document.querySelectorAll('[data-countdown]')) {
    el.textContent = countdown(el.dataset.countdown, now);
  }
}

/** "1 h 05 min 09 s" until `iso`; "ended" when past. */
export function countdown(iso, now = Date.now()) {
  const left = Math.floor((new Date(iso).getTime() - now) / 1000);
  if (!(left > 0)) return 'ended';
  const hh = Math.floor(left / 3600);
  const mm = Math.floor((left % 3600) / 60);
  const ss = left % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (hh > 0) return `${hh} h ${pad(mm)} min ${pad(ss)} s`;
  if (mm > 0) return `${mm} min ${pad(ss)} s`;
  return `${ss} s`;
}

export function countdownEl(iso) {
  return h('span', { class: 'countdown', dataset: { countdown: iso }, title: exact(iso) }, countdown(iso));
}

/** 90061 → "1 d 1 h 1 min 1 s" (only the non-zero parts). */
export function duration(secs) {
  secs = Number(secs);
  if (!Number.isFinite(secs)) return '';
  if (secs === 0) return '0 s';
  const parts = [];
  const units = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  for (const [u, n] of units) {
    const q = Math.floor(secs / n);
    if (q) { parts.push(`${q} ${u}`); secs -= q * n; }
  }
  return parts.join(' ');
}

/** A readable "Browser version on OS" from a User-Agent header. */
export function parseUserAgent(ua) {
  if (!ua) return { browser: 'Unknown client', os: '', mobile: false, label: 'Unknown client' };
  const m = (re) => { const r = ua.match(re); return r ? r[1] : null; };
  const major = (v) => (v ? v.split('.')[0] : '');
  let browser = null;
  let v;
  if ((v = m(/Edg(?:e|A|iOS)?\/([\d.]+)/))) browser = `Edge ${major(v)}`;
  else if ((v = m(/OPR\/([\d.]+)/))) browser = `Opera ${major(v)}`;
  else if ((v = m(/SamsungBrowser\/([\d.]+)/))) browser = `Samsung Internet ${major(v)}`;
  else if ((v = m(/(?:Firefox|FxiOS)\/([\d.]+)/))) browser = `Firefox ${major(v)}`;
  else if ((v = m(/CriOS\/([\d.]+)/))) browser = `Chrome ${major(v)}`;
  else if ((v = m(/Chrom(?:e|ium)\/([\d.]+)/))) browser = `Chrome ${major(v)}`;
  else if (/Safari\//.test(ua) && (v = m(/Version\/([\d.]+)/))) browser = `Safari ${v}`;
  else if ((v = m(/^curl\/([\d.]+)/))) browser = `curl ${v}`;
  else if ((v = m(/^okhttp\/([\d.]+)/))) browser = `OkHttp ${v} (Android app)`;
  else if ((v = m(/^python-requests\/([\d.]+)/))) browser = `Python requests ${v}`;
  else if ((v = m(/^Go-http-client\/([\d.]+)/))) browser = `Go HTTP client ${v}`;
  else if ((v = m(/^([A-Za-z][\w.-]*)\//))) browser = v;
  let os = '';
  let mobile = /Mobile|Android|iPhone|iPad/.test(ua);
  if ((v = m(/iPhone OS ([\d_]+)/))) os = `iPhone (iOS ${v.replace(/_/g, '.')})`;
  else if ((v = m(/iPad; CPU OS ([\d_]+)/))) os = `iPad (iPadOS ${v.replace(/_/g, '.')})`;
  else if ((v = m(/Android ([\d.]+)/))) {
    const model = m(/Android [\d.]+; ([^;)]+)\)/);
    os = model && !/^(K|wv)$/.test(model.trim()) ? `${model.trim()} (Android ${v})` : `Android ${v}`;
  } else if ((v = m(/Windows NT ([\d.]+)/))) os = v === '10.0' ? 'Windows 10/11' : `Windows NT ${v}`;
  else if ((v = m(/Mac OS X ([\d_.]+)/))) os = `macOS ${v.replace(/_/g, '.')}`;
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  if (!browser) browser = 'Unknown client';
  return { browser, os, mobile, label: os ? `${browser} on ${os}` : browser };
}

// ---------------------------------------------------------------- incident console
// Devices, locations, ids, counts, and the three pictures of a list
// (loading, empty, error) shared by the sessions, user and audit screens.

/** Device of a session: the server's parse (`device`) when present, else the UA parse above. */
export function deviceOf(s) {
  const d = s && s.device;
  const known = (v) => (v && !/^(Other|Generic Smartphone|Generic Feature Phone)$/i.test(v) ? v : '');
  if (d && (known(d.browser) || known(d.os))) {
    const browser = known(d.browser) || 'Unknown client';
    // A User-Agent cannot tell Windows 10 from 11.
    let os = known(d.os).replace(/^Windows 1[01]$/, 'Windows 10/11');
    const dev = known(d.device);
    if (dev && !/^(Mac|PC|Spider)$/i.test(dev) && !os.toLowerCase().includes(dev.toLowerCase())) {
      os = os ? `${dev} (${os})` : dev;
    }
    const mobile = /iPhone|iPad|Android|Mobile|iOS/i.test(`${d.os || ''} ${d.device || ''}`);
    return { browser, os, mobile, label: os ? `${browser} on ${os}` : browser };
  }
  return parseUserAgent(s && s.user_agent);
}

/** "Lisbon, Portugal" from a session's `location`; '' when absent. */
export function placeOf(loc) {
  if (!loc) return '';
  return [loc.city, loc.country || loc.country_code].filter(Boolean).join(', ');
}

/** 1234 → "1,234"; 1234567 → "1.2M" (for estimates). */
export function count(n) {
  return Number(n).toLocaleString('en-US');
}

export function compact(n) {
  n = Number(n);
  if (n >= 1e9) return `${(n / 1e9).toFixed(1).replace(/\.0$/, '')}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1).replace(/\.0$/, '')}k`;
  return String(n);
}

export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Put `text` on the clipboard (falls back to a hidden textarea). */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (e) { /* fall through */ }
  const ta = h('textarea', { class: 'sr-only', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  const back = document.activeElement;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  ta.remove();
  if (back && back.focus) back.focus();
  return ok;
}

/** A small "Copy" button; says "Copied" for a moment (announced). */
export function copyButton(text, what = 'id') {
  const long = text.length > 80;
  const b = h('button', {
    type: 'button', class: 'btn-copy', title: long ? `Copy ${what}` : `Copy ${what}: ${text}`,
    'aria-label': long ? `Copy ${what}` : `Copy ${what} ${text}`, dataset: { role: 'copy' },
  }, 'Copy');
  b.addEventListener('click', async (e) => {
    e.stopPropagation();
    const ok = await copyText(text);
    b.textContent = ok ? 'Copied' : 'Copy failed';
    b.classList.toggle('copied', ok);
    setTimeout(() => { b.textContent = 'Copy'; b.classList.remove('copied'); }, 1500);
  });
  return b;
}

/** A full id in monospace with a copy button. */
export function fullId(id, what = 'id') {
  if (!id) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'id-full' }, h('code', { class: 'mono' }, id), copyButton(id, what));
}

/**
 * A short id: its first 8 characters (what a prefix search takes), then its
 * last 4. Session ids are UUIDv7, whose first 8 characters are the creation
 * time to about a minute, so the random tail is what tells apart two
 * sessions started in the same minute. The whole id on hover and in Copy.
 */
export function shortId(id, what = 'session id') {
  if (!id) return h('span', { class: 'muted' }, '—');
  const s = String(id);
  const text = s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s;
  return h('span', { class: 'id-short' },
    h('code', { class: 'mono', title: id, dataset: { fullId: id } }, text),
    copyButton(id, what));
}

/** Is this error "the server is not there" (network, 5xx) rather than an answer? */
export function unreachable(e) {
  return !e || !e.status || e.status >= 500;
}

/** The server's message for a 400, naming the fields. */
export function problemText(e) {
  const d = (e && e.details) || {};
  const parts = Object.entries(d).map(([k, m]) => `${k}: ${m}`);
  return parts.length ? `${e.message.replace(/\.$/, '')} (${parts.join('; ')})` : e.message;
}

/**
 * The error picture: a banner (role=alert) that says what happened and,
 * when the server could not be reached, offers Retry. `what` is e.g.
 * "the sessions". Returns the element (hidden when `e` is null).
 */
export function errorBanner(el, e, what, retry, note, refusedTitle = 'The server refused this filter') {
  el.replaceChildren();
  el.hidden = !e;
  if (!e) return el;
  el.className = unreachable(e) ? 'ic-banner notice notice-error' : 'ic-banner notice notice-warn';
  el.setAttribute('role', 'alert');
  el.dataset.state = unreachable(e) ? 'error' : 'invalid';
  if (unreachable(e)) {
    const why = e.status ? `the server answered ${e.status}${e.message && !/^HTTP /.test(e.message) ? ` (${e.message})` : ''}` : 'the server could not be reached';
    el.append(
      h('div', { class: 'ic-banner-text' }, h('strong', null, `Could not load ${what}`), `: ${why}.`, note ? ` ${note}` : ''),
      retry ? h('button', { type: 'button', class: 'btn btn-small', dataset: { role: 'retry' }, onclick: retry }, 'Retry') : null);
  } else {
    el.append(h('div', { class: 'ic-banner-text' }, h('strong', null, refusedTitle), `: ${problemText(e)}`));
  }
  return el;
}

/** The loading picture, as a table row. */
export function loadingRow(cols, text = 'Loading…') {
  return h('tr', { class: 'ic-loading', dataset: { state: 'loading' } },
    h('td', { colspan: cols, role: 'status' }, h('span', { class: 'ic-spinner', 'aria-hidden': 'true' }), text));
}

/** The empty picture, as a table row. */
export function emptyRow(cols, text, hint) {
  return h('tr', { class: 'empty ic-empty', dataset: { state: 'empty' } },
    h('td', { colspan: cols }, h('div', { class: 'empty-title' }, text), hint ? h('div', { class: 'muted small' }, hint) : null));
}
