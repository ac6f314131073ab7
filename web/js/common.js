// What every section shares: its loading and error line, the page's busy
// state (aria-busy on <main>, which the browser test also waits for) and
// how an API error reads.

import { t } from './i18n.js';

let pending = 0;
let settled = 0;

// aria-busy while any request runs; data-settled counts the moments all
// finished, so a test can wait for the loads its own action started.
export function busy(delta) {
  const main = document.getElementById('main');
  pending = Math.max(0, pending + delta);
  main.setAttribute('aria-busy', pending > 0 ? 'true' : 'false');
  if (pending === 0) main.dataset.settled = String(++settled);
}

export function formatError(e) {
  if (!e || e.status === undefined) return String((e && e.message) || e);
  if (e.status === 0) return t('error.network');
  if (e.status === 403) return `${t('error.forbidden')} ${e.message ? `(${e.message})` : ''}`.trim();
  const field = e.field ? ` (${t('error.field')}: ${e.field})` : '';
  return `${t('error.status', { status: e.status })} ${e.message}${field} [${e.code}]`;
}

// kind: 'loading', 'error', 'info' or null (done); the section carries
// data-state="loading|ready|error" for styling and for tests.
export function setStatus(section, kind, text = '') {
  const line = section.querySelector(':scope > .status');
  section.dataset.state = kind === 'loading' || kind === 'error' ? kind : 'ready';
  if (!line) return;
  line.textContent = kind === null ? '' : text;
  line.classList.toggle('error', kind === 'error');
}

// Keyboard access to table rows that open something: Enter or Space
// opens, arrow keys move between rows.
export function rowKeys(event, open) {
  const row = event.currentTarget;
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    open();
  } else if (event.key === 'ArrowDown' && row.nextElementSibling) {
    event.preventDefault();
    row.nextElementSibling.focus();
  } else if (event.key === 'ArrowUp' && row.previousElementSibling) {
    event.preventDefault();
    row.previousElementSibling.focus();
  }
}

export function nullable(v) {
  return v === null || v === undefined ? 'null' : v;
}

// The country of a model key ("NO", "DK", "SE") from GET /v1/models,
// guessed from the key for a model the server did not list.
export function countryOf(models, key) {
  const m = models.find((x) => x.key === key);
  if (m && m.country) return m.country;
  return String(key || '').slice(0, 2).toUpperCase();
}
