// The coordinators' page: asks for the token once (sessionStorage only),
// learns the token's regions from GET /v1/whoami, then loads each section
// on its own, so that one slow or failing answer leaves the others
// readable.

import { createApi } from './api.js';
import * as i18n from './i18n.js';
import { t, prettyId, levelName, modelName, date } from './i18n.js';
import { $, fillSelect } from './dom.js';
import { busy, formatError, setStatus } from './common.js';
import tiles from './sections/tiles.js';
import histogram from './sections/histogram.js';
import trend from './sections/trend.js';
import units from './sections/units.js';
import deadlines from './sections/deadlines.js';
import flow from './sections/flow.js';
import worklist from './sections/worklist.js';

const TOKEN_KEY = 'painpath.token';
const LANG_KEY = 'painpath.lang';
const LEVELS = ['gp', 'team', 'clinic', 'centre'];
const SECTIONS = [tiles, histogram, trend, units, deadlines, flow, worklist];

const state = {
  who: null,
  models: [],
  regionsSeen: new Set(),
  units: [],
  filters: { region: '', level: '', unit: '', model: '', as_of: '' },
};

const api = createApi(() => sessionStorage.getItem(TOKEN_KEY));
let reauth = null;

const ctx = {
  api,
  state,
  refresh,
  unauthorized,
  openWorklist,
  showAsOf,
  regionOptions,
  // The page's filters that an endpoint takes, leaving out empty ones.
  params(...keys) {
    const out = {};
    for (const key of keys) if (state.filters[key]) out[key] = state.filters[key];
    return out;
  },
  rulesKnown(rules) {
    histogram.setRules(ctx, rules);
  },
  unitsKnown(rows) {
    state.units = rows;
    rows.forEach((u) => state.regionsSeen.add(u.region));
    fillFilters();
    worklist.fillControls(ctx);
  },
};

/* Loading ------------------------------------------------------------ */

// Loads one section; an answer that arrives after a newer request for the
// same section is dropped.
async function refresh(section) {
  const gen = ++section.gen;
  busy(+1);
  setStatus(section.el, 'loading', t('loading'));
  try {
    const data = await section.fetch(ctx);
    if (gen !== section.gen) return;
    section.data = data;
    setStatus(section.el, null);
    section.render(ctx);
  } catch (e) {
    if (gen !== section.gen) return;
    section.data = null;
    section.render(ctx);
    if (e.status === 401) unauthorized();
    setStatus(section.el, 'error', e.status === 401 ? t('login.rejected') : formatError(e));
  } finally {
    busy(-1);
  }
}

function refreshAll() {
  return Promise.all(SECTIONS.map((s) => refresh(s)));
}

/* Signing in --------------------------------------------------------- */

function askToken(message) {
  const dialog = $('#login');
  const input = $('#token');
  $('#login-error').textContent = message;
  if (!dialog.open) dialog.showModal();
  input.focus();
  input.select();
  return new Promise((resolve) => {
    const form = $('#login-form');
    const submit = (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) {
        $('#login-error').textContent = t('login.empty');
        input.focus();
        return;
      }
      form.removeEventListener('submit', submit);
      resolve(token);
    };
    form.addEventListener('submit', submit);
  });
}

// Loops until GET /v1/whoami accepts a token; the dialog stays open (and
// modal) meanwhile.
async function signIn(message = '') {
  let token = message ? null : sessionStorage.getItem(TOKEN_KEY);
  for (;;) {
    if (!token) token = await askToken(message);
    sessionStorage.setItem(TOKEN_KEY, token);
    if ($('#login').open) $('#login-error').textContent = t('login.checking');
    try {
      state.who = await api.get('/v1/whoami');
      break;
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
      message = e.status === 401 ? t('login.rejected') : formatError(e);
    }
  }
  $('#token').value = '';
  if ($('#login').open) $('#login').close();
  showWho();
}

// A 401 anywhere: ask again once, however many requests failed, then
// reload everything under the new token.
function unauthorized() {
  if (reauth) return reauth;
  const before = state.who && state.who.token_id;
  sessionStorage.removeItem(TOKEN_KEY);
  reauth = signIn(t('login.rejected')).then(() => {
    reauth = null;
    // Another token may cover other regions: start from its whole view.
    if (state.who.token_id !== before) clearFilters();
    fillFilters();
    worklist.followGlobals(ctx);
    return refreshAll();
  });
  return reauth;
}

function showWho() {
  const who = state.who;
  const el = $('#whoami');
  $('#signout').hidden = !who;
  if (!who) {
    el.textContent = '';
    return;
  }
  const all = who.regions === '*';
  const regions = all ? t('who.all') : who.regions.map(prettyId).join(', ');
  el.textContent = t('who.label', { id: who.token_id, regions });
  el.dataset.tokenId = who.token_id;
  el.dataset.regions = all ? '*' : who.regions.join(',');
  if (!all) who.regions.forEach((r) => state.regionsSeen.add(r));
}

/* Filters ------------------------------------------------------------ */

// The token's regions; for a token of every region, those seen in answers.
function regionOptions() {
  const who = state.who;
  const list = who && Array.isArray(who.regions) ? who.regions : [...state.regionsSeen];
  return [...new Set(list)].sort().map((r) => [r, prettyId(r)]);
}

function unitOptions() {
  const many = new Set(state.units.map((u) => u.region)).size > 1;
  const seen = new Map();
  for (const u of state.units) {
    if (!seen.has(u.unit)) seen.set(u.unit, many ? `${prettyId(u.unit)} (${prettyId(u.region)})` : prettyId(u.unit));
  }
  const chosen = state.filters.unit;
  if (chosen && !seen.has(chosen)) seen.set(chosen, prettyId(chosen));
  return [...seen.entries()].sort((a, b) => a[1].localeCompare(b[1]));
}

function fillFilters() {
  const f = state.filters;
  const all = t('filter.all');
  fillSelect($('#f-region'), [['', t('filter.allRegions')], ...regionOptions()], f.region);
  fillSelect($('#f-level'), [['', all], ...LEVELS.map((l) => [l, levelName(l)])], f.level);
  fillSelect($('#f-unit'), [['', all], ...unitOptions()], f.unit);
  fillSelect($('#f-model'), [['', all], ...state.models.map((m) => [m.key, modelName(m.key, state.models)])], f.model);
  $('#f-asof').value = f.as_of;
  const list = $('#unit-list');
  list.replaceChildren(...unitOptions().map(([value, label]) => Object.assign(document.createElement('option'), { value, label })));
}

function clearFilters() {
  Object.assign(state.filters, { region: '', level: '', unit: '', model: '', as_of: '' });
  state.regionsSeen.clear();
  state.units = [];
}

function readFilters() {
  const before = { ...state.filters };
  const f = state.filters;
  f.region = $('#f-region').value;
  f.level = $('#f-level').value;
  f.model = $('#f-model').value;
  f.as_of = $('#f-asof').value;
  // A unit belongs to one region and level: choosing another clears it.
  f.unit = f.region !== before.region || f.level !== before.level ? '' : $('#f-unit').value;
}

function filtersChanged() {
  readFilters();
  fillFilters();
  worklist.followGlobals(ctx);
  refreshAll();
}

function bindFilters() {
  const form = $('#filters');
  form.addEventListener('change', filtersChanged);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    filtersChanged();
  });
  $('#f-reset').addEventListener('click', () => {
    clearFilters();
    fillFilters();
    worklist.followGlobals(ctx);
    refreshAll();
  });
}

// The whole country's figures may come from a snapshot up to a minute
// old: the time it was counted is shown with the day.
function showAsOf(asOf, snapshotAt) {
  const el = $('#asof');
  const day = asOf || state.filters.as_of;
  const time = snapshotAt
    ? new Date(snapshotAt).toLocaleTimeString(i18n.locale(), { hour: '2-digit', minute: '2-digit' })
    : '';
  if (!day) el.textContent = '';
  else if (time) el.textContent = t('asof.snapshot', { date: date(day, true), time });
  else el.textContent = t('asof.today', { date: date(day, true) });
  el.dataset.asOf = day || '';
  el.dataset.snapshotAt = snapshotAt || '';
}

/* Worklist from the other sections ----------------------------------- */

async function openWorklist(filters) {
  const g = state.filters;
  worklist.setFilters(ctx, { region: g.region, model: g.model, level: g.level, ...filters });
  const heading = $('#h-worklist');
  heading.scrollIntoView({ block: 'start' });
  heading.focus({ preventScroll: true });
  await worklist.firstPage(ctx);
}

/* Language ----------------------------------------------------------- */

// The header's switch, and the sign-in dialog's (the header is out of
// reach while the dialog is open).
const LANG_SELECTS = ['#lang', '#login-lang'];

function fillLanguages() {
  for (const id of LANG_SELECTS) {
    const select = $(id);
    select.replaceChildren(
      ...i18n.LANGS.map((code) => Object.assign(document.createElement('option'), { value: code, textContent: i18n.LANG_NAMES[code], lang: code })),
    );
    select.value = i18n.lang();
  }
}

function applyLanguage() {
  i18n.translateTree();
  document.title = `${t('app.title')} · painpath`;
  fillLanguages();
  showWho();
  if ($('#app').hidden) return;
  fillFilters();
  for (const s of SECTIONS) {
    if (s.fillControls) s.fillControls(ctx);
    s.render(ctx);
  }
}

function bindLanguage() {
  for (const id of LANG_SELECTS) {
    $(id).addEventListener('change', (e) => {
      i18n.setLang(e.target.value);
      localStorage.setItem(LANG_KEY, i18n.lang());
      applyLanguage();
    });
  }
}

/* Start -------------------------------------------------------------- */

async function loadModels() {
  try {
    const answer = await api.get('/v1/models');
    state.models = answer.models || [];
  } catch (e) {
    if (e.status === 401) await unauthorized();
    state.models = [];
  }
}

async function start() {
  i18n.setLang(localStorage.getItem(LANG_KEY) || i18n.detectLang());
  i18n.translateTree();
  document.title = `${t('app.title')} · painpath`;
  fillLanguages();
  bindLanguage();
  $('#login').addEventListener('cancel', (e) => e.preventDefault());
  showWho();
  $('#signout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    window.location.reload();
  });
  await signIn();
  await loadModels();
  $('#app').hidden = false;
  SECTIONS.forEach((s) => s.init(ctx));
  bindFilters();
  fillFilters();
  worklist.followGlobals(ctx);
  await refreshAll();
}

start();
