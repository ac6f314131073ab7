// The public waiting times: no token, aggregates only.  A figure the
// server suppressed (null: fewer than 5 patients) reads as such in the
// page's language.

import * as i18n from './i18n.js';
import { t, num, days, prettyId, levelName, dateTime } from './i18n.js';
import { $, h, clear, fillSelect, headRow } from './dom.js';
import { createApi } from './api.js';

const LANG_KEY = 'painpath.lang';
const LEVELS = ['gp', 'team', 'clinic', 'centre'];
const COLUMNS = [
  ['median_days', 'public.median', days],
  ['p90_days', 'public.p90', days],
  ['started', 'public.started', (n) => num(n)],
  ['waiting_now', 'public.waiting', (n) => num(n)],
];

const api = createApi(() => null);
let data = null;
let failed = false;

function byPlace(a, b) {
  return (
    String(a.region).localeCompare(String(b.region)) ||
    LEVELS.indexOf(b.level) - LEVELS.indexOf(a.level) ||
    String(a.unit).localeCompare(String(b.unit))
  );
}

function figure(u, [key, , format]) {
  const value = u[key];
  if (value === null || value === undefined) {
    return h('td', { class: 'num suppressed', 'data-testid': key, data: { suppressed: 'true' } }, t('suppressed'));
  }
  return h('td', { class: 'num', 'data-testid': key, data: { value } }, format(value));
}

function row(u) {
  return h(
    'tr',
    { 'data-testid': 'public-row', data: { region: u.region, level: u.level, unit: u.unit } },
    h('th', { scope: 'row', title: u.unit }, prettyId(u.unit)),
    h('td', {}, levelName(u.level)),
    COLUMNS.map((c) => figure(u, c)),
  );
}

function regionSection(region, units) {
  const id = `region-${region}`;
  return h(
    'section',
    { class: 'card region', 'aria-labelledby': id, 'data-testid': 'public-region-section', data: { region } },
    h('h2', { id }, prettyId(region)),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('thead', {}, headRow([[t('public.unit')], [t('public.level')], ...COLUMNS.map(([, label]) => [t(label), 'num'])])),
        h('tbody', {}, units.map(row)),
      ),
    ),
  );
}

function render() {
  const box = clear($('#regions'));
  $('#intro').textContent = t('public.intro', { days: num(data ? data.window_days : 90) });
  $('#updated').textContent = data && data.generated_at ? t('public.updated', { time: dateTime(data.generated_at) }) : '';
  $('#status').textContent = failed ? t('public.error') : '';
  $('#status').classList.toggle('error', failed);
  if (!data) return;
  const units = [...(data.units || [])].sort(byPlace);
  const regions = [...new Set(units.map((u) => u.region))];
  const select = $('#p-region');
  fillSelect(select, [['', t('public.allRegions')], ...regions.map((r) => [r, prettyId(r)])]);
  if (units.length === 0) box.append(h('p', { class: 'empty' }, t('public.empty')));
  for (const region of regions) {
    if (select.value && select.value !== region) continue;
    box.append(regionSection(region, units.filter((u) => u.region === region)));
  }
}

function fillLanguages() {
  const select = $('#lang');
  select.replaceChildren(
    ...i18n.LANGS.map((code) => Object.assign(document.createElement('option'), { value: code, textContent: i18n.LANG_NAMES[code], lang: code })),
  );
  select.value = i18n.lang();
}

function applyLanguage() {
  i18n.translateTree();
  document.title = t('public.title');
  fillLanguages();
  render();
}

async function start() {
  i18n.setLang(localStorage.getItem(LANG_KEY) || i18n.detectLang());
  applyLanguage();
  $('#lang').addEventListener('change', (e) => {
    i18n.setLang(e.target.value);
    localStorage.setItem(LANG_KEY, i18n.lang());
    applyLanguage();
  });
  $('#p-region').addEventListener('change', render);
  try {
    data = await api.get('/public/waiting-times');
  } catch {
    failed = true;
  }
  render();
  $('#main').setAttribute('aria-busy', 'false');
}

start();
