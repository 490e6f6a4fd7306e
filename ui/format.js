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
