#!/usr/bin/env node
// The coordinators' page in a real browser, against a running daemon:
// signs in (a wrong token first, which must be refused), compares what a
// coordinator sees with the values the calling test computed from the data
// it seeded, acknowledges a deadline, walks to the by-unit table with the
// keyboard and opens a unit's worklist with Enter, switches language,
// chooses each country's region in the page's own region filter (the page
// in that country's language) and compares that region's figures, and
// saves screenshots.  Exit status 0 only when every assertion passed.
//
//   node test/browser/dashboard.mjs --url http://127.0.0.1:PORT \
//        --expect expect.json --screenshots DIR [--token TOKEN] \
//        [--lang en|da|nb|sv] [--timeout-ms 30000]
//
// The token may come from the environment (PAINPATH_TOKEN) instead, to
// keep it out of the process list.  expect.json (every key optional):
//
// {
//   "lang": "en",                         browser language (else --lang, en)
//   "as_of": "2026-11-27",                set "Figures as of" first
//   "token_id": "coord-vest",             shown as signed in
//   "regions_visible": ["helse-vest"],    the region filter offers exactly
//                                         these; every data-region is one
//   "regions_hidden": ["region-hovedstaden"],   appear nowhere in the page
//   "texts_hidden": ["p-000099", "odense-smertecenter"], appear nowhere
//   "tiles": [{"model": "no", "rule": "assessment", "running": 3,
//              "overdue": 1, "share": 0.6667}],   share null when running 0
//              (each may name its "limit": {"unit": "working_days",
//               "n": 5}, or null for a deadline the clinic sets)
//   "tiles_exact": true,                  no other tiles
//   "tiles_required": ["transit"],        rules that must have a tile
//   "units": [{"region": "helse-vest", "level": "clinic",
//              "unit": "bergen-smerteklinikk", "waiting": 3, "median": 12,
//              "p90": 20, "share": 0.6667, "overdue": 1}],
//   "units_exact": true,                  no other rows
//   "histogram": {"waiting": 5, "median_days": 12, "p90_days": 30,
//                 "bands": [{"from_days": 0, "count": 2}]},  everyone waiting
//   "trend": {"months": [{"month": "2026-01", "waiting_at_end": 4,
//              "started": 2, "median_days": 40, "p90_days": 52,
//              "within_limit_share": 0.5}]},   all 12, oldest first
//   "flow": {"weeks": [{"week": "2026-W05", "from": "2026-01-26",
//            "received": 3, "accepted": 1, "rejected": 0, "started": 1}]},
//                                         all 12, oldest first
//   "deadlines": {"within_days": 14, "pathway_ids": ["..."], "exact": true},
//   "acknowledge": {"escalation_id": 123, "note": "called the clinic",
//                   "by": "coord-vest"},
//   "worklist": {"unit": "bergen-smerteklinikk", "pathway_ids": ["..."]}
//               (or "count": n) the unit's row, opened with Enter
//   "switch_lang": "nb",                  the language switched to (else nb,
//                                         or da when already nb)
//   "countries": [{"region": "helse-sor-ost", "lang": "nb",
//                  "shot": "country-no", "tiles": [...], "tiles_exact": true,
//                  "tiles_required": [...], "units": [...],
//                  "units_exact": true, "histogram": {...}, "trend": {...},
//                  "flow": {...}}]
//                                         each region chosen in the page's
//                                         region filter, the page in lang:
//                                         the same checks on that region's
//                                         figures, every region shown is
//                                         that one, and SHOT.png (laptop)
//                                         and SHOT-full.png saved
// }
//
// The trend's and the flow's figures are compared three ways: the rows of
// the tables beside the charts (their data attributes, and their text as
// the reader's language writes it), and the data and series labels the
// page hands uPlot (recorded by a wrapper of its constructor, see
// recordCharts in lib.mjs).
//
// Shares are compared within 0.001 and days within 0.05 (the page holds the
// API's exact values in data attributes; the tolerance is for the caller's
// own rounding); counts exactly.

import fs from 'node:fs';
import {
  LAPTOP,
  TABLET,
  WORDS,
  fmtCount,
  fmtDate,
  fmtDays,
  fmtMonth,
  fmtPercent,
  fmtNumber,
  fmtShare,
  leadingNumber,
  main,
  parseArgs,
  recordCharts,
  settle,
  shoot,
  squash,
  usage,
  watch,
} from './lib.mjs';

const HELP =
  'usage: dashboard.mjs --url BASE --expect FILE --screenshots DIR [--token TOKEN] [--lang en|da|nb|sv] [--timeout-ms N]';
const args = parseArgs(process.argv.slice(2), ['url', 'expect', 'screenshots', 'token', 'lang', 'timeout-ms'], ['url', 'expect', 'screenshots'], HELP);
const token = args.token || process.env.PAINPATH_TOKEN;
if (!token) usage(`a token is needed (--token or PAINPATH_TOKEN)\n${HELP}`);
const expect = JSON.parse(fs.readFileSync(args.expect, 'utf8'));
const base = args.url.replace(/\/+$/, '');
const lang = expect.lang || args.lang || 'en';
const timeout = Number(args['timeout-ms'] || 30000);
const shots = args.screenshots;
fs.mkdirSync(shots, { recursive: true });

const SHARE_TOL = 0.001;
const DAYS_TOL = 0.05;

// Runs action and waits until every load it started has finished.
async function andSettle(page, action) {
  const before = await page.$eval('main', (m) => Number(m.dataset.settled || 0));
  await action();
  await page.waitForFunction(
    (b) => {
      const m = document.querySelector('main');
      return Number(m.dataset.settled || 0) > b && m.getAttribute('aria-busy') === 'false';
    },
    {},
    before,
  );
}

async function signIn(page, checks) {
  await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#login[open] #token', { visible: true });
  checks.ok('the page asks for a token before showing anything', await page.$eval('#app', (a) => a.hidden));
  await page.type('#token', `not-a-token-${process.pid}`);
  await page.click('[data-testid=token-submit]');
  await page.waitForFunction(() => {
    const e = document.querySelector('#login-error').textContent;
    return e && !e.endsWith('…');
  });
  checks.ok('a wrong token is refused and the token is asked for again', await page.$eval('#login', (d) => d.open));
  await shoot(page, shots, 'dashboard-login-refused.png', checks);
  await page.$eval('#token', (i) => {
    i.value = '';
  });
  await page.type('#token', token);
  await page.click('[data-testid=token-submit]');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForSelector('main[aria-busy="false"]');
  checks.ok('the right token is accepted', !(await page.$eval('#login', (d) => d.open)));
}

async function checkTokenKept(page, checks) {
  const where = await page.evaluate(() => ({
    href: window.location.href,
    cookie: document.cookie,
    session: sessionStorage.getItem('painpath.token'),
    local: Object.keys(localStorage).map((k) => localStorage.getItem(k)),
  }));
  checks.ok('the token is not in the URL', !where.href.includes(token));
  checks.eq('no cookie is set', where.cookie, '');
  checks.ok('the token is kept in sessionStorage', where.session === token);
  checks.ok('the token is not in localStorage', !where.local.some((v) => v && v.includes(token)));
}

async function checkWho(page, checks) {
  const who = await page.$eval('#whoami', (e) => ({ text: e.textContent, id: e.dataset.tokenId, regions: e.dataset.regions }));
  if (expect.token_id) {
    checks.eq('whoami: token id', who.id, expect.token_id);
    checks.includes('whoami: the header names the token', who.text, expect.token_id);
  }
  if (Array.isArray(expect.regions_visible) && expect.regions_visible.length) {
    const offered = await page.$$eval('#f-region option', (os) => os.map((o) => o.value).filter(Boolean));
    checks.sameSet('the region filter offers exactly the token\'s regions', offered, expect.regions_visible);
  }
}

async function setAsOf(page) {
  if (!expect.as_of) return;
  await andSettle(page, () =>
    page.$eval(
      '#f-asof',
      (input, day) => {
        input.value = day;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      },
      expect.as_of,
    ),
  );
}

function readTiles(page) {
  return page.$$eval('[data-testid=tile]', (tiles) =>
    tiles.map((t) => ({
      ...t.dataset,
      heading: t.querySelector('h3').textContent,
      shareText: t.querySelector('[data-testid=tile-share]').textContent,
      overdueText: t.querySelector('[data-testid=tile-overdue]').textContent,
      runningText: t.querySelector('[data-testid=tile-running]').textContent,
    })),
  );
}

// e: the expectations of the whole view or of one region's; language:
// the page's; at: what the assertions' names start with.
async function checkTiles(page, checks, e, language, at = '') {
  if (!e.tiles) return;
  const tiles = await readTiles(page);
  for (const x of e.tiles) {
    const name = `${at}tile ${x.model}/${x.rule}`;
    const got = tiles.find((t) => t.model === x.model && t.rule === x.rule);
    if (!checks.ok(`${name}: shown`, got, `tiles shown: ${tiles.map((t) => `${t.model}/${t.rule}`).join(', ')}`)) continue;
    checks.eq(`${name}: running`, Number(got.running), x.running);
    checks.eq(`${name}: overdue`, Number(got.overdue), x.overdue);
    if ('share' in x) checks.near(`${name}: share within the limit`, got.share, x.share, SHARE_TOL);
    if (x.running > 0 && x.share !== null && x.share !== undefined) {
      checks.eq(`${name}: the share reads`, squash(got.shareText), fmtPercent(language, Number(got.share)));
    }
    checks.eq(`${name}: the overdue count reads`, leadingNumber(got.overdueText), fmtNumber(language, x.overdue, 0));
    checks.includes(`${name}: the running count reads`, got.runningText, fmtNumber(language, x.running, 0));
    if ('limit' in x) {
      const limit = got.limitUnit ? { unit: got.limitUnit, n: Number(got.limitN) } : null;
      checks.eq(`${name}: its limit`, limit, x.limit);
      if (x.limit) checks.includes(`${name}: the heading names the limit`, got.heading, fmtNumber(language, x.limit.n, 0));
    }
  }
  if (e.tiles_exact) {
    checks.sameSet(`${at}no other tiles`, tiles.map((t) => `${t.model}/${t.rule}`), e.tiles.map((x) => `${x.model}/${x.rule}`));
  }
  for (const rule of e.tiles_required || []) {
    checks.ok(`${at}a ${rule} tile is shown`, tiles.some((t) => t.rule === rule && Number(t.running) > 0));
  }
}

async function checkUnits(page, checks, e, at = '') {
  if (!e.units) return;
  const rows = await page.$$eval('[data-testid=unit-row]', (rs) => rs.map((r) => ({ ...r.dataset })));
  for (const x of e.units) {
    const name = `${at}by unit ${x.region}/${x.level}/${x.unit}`;
    const got = rows.find((r) => r.region === x.region && r.level === x.level && r.unit === x.unit);
    if (!checks.ok(`${name}: row shown`, got)) continue;
    if ('waiting' in x) checks.eq(`${name}: waiting`, Number(got.waiting), x.waiting);
    if ('overdue' in x) checks.eq(`${name}: overdue`, Number(got.overdue), x.overdue);
    if ('median' in x) checks.near(`${name}: median days`, got.median, x.median, DAYS_TOL);
    if ('p90' in x) checks.near(`${name}: 90th percentile days`, got.p90, x.p90, DAYS_TOL);
    if ('share' in x) checks.near(`${name}: share within the limit`, got.share, x.share, SHARE_TOL);
  }
  if (e.units_exact) {
    const key = (r) => `${r.region}/${r.level}/${r.unit}`;
    checks.sameSet(`${at}no other unit rows`, rows.map(key), e.units.map(key));
  }
}

async function checkHistogram(page, checks, e, at = '') {
  const x = e.histogram;
  if (!x) return;
  const value = (id) => page.$eval(id, (d) => d.dataset.value);
  if ('waiting' in x) checks.eq(`${at}histogram: waiting`, Number(await value('#hist-waiting')), x.waiting);
  if ('median_days' in x) checks.near(`${at}histogram: median`, await value('#hist-median'), x.median_days, DAYS_TOL);
  if ('p90_days' in x) checks.near(`${at}histogram: 90th percentile`, await value('#hist-p90'), x.p90_days, DAYS_TOL);
  const bands = await page.$$eval('[data-testid=hist-band]', (bs) => bs.map((b) => ({ from: Number(b.dataset.from), count: Number(b.dataset.count) })));
  for (const b of x.bands || []) {
    const got = bands.find((y) => y.from === b.from_days);
    checks.eq(`${at}histogram: band from day ${b.from_days}`, got ? got.count : 0, b.count);
  }
  checks.ok(`${at}histogram: the chart is drawn`, await page.$('#hist-chart canvas'));
}

// What the page handed uPlot for the chart in the container id.
function chartOf(page, id) {
  return page.evaluate((key) => (window.__painpathCharts || {})[key] || null, id);
}

const num = (v) => (v === undefined || v === 'null' ? null : Number(v));

// The tick values uPlot drew on an axis of the chart in the container id
// (its _splits: what the labels are made from).
function chartTicks(page, id, axis) {
  return page.evaluate(
    (key, i) => {
      const chart = (window.__painpathChartInstances || {})[key];
      const splits = chart && chart.axes[i] && chart.axes[i]._splits;
      return splits ? Array.from(splits) : null;
    },
    id,
    axis,
  );
}

// The 12 months: the table's rows (values and text) and the two charts.
async function checkTrend(page, checks, e, language, at = '') {
  if (!e.trend) return;
  const want = e.trend.months;
  const rows = await page.$$eval('[data-testid=trend-row]', (rs) =>
    rs.map((r) => ({ ...r.dataset, cells: [...r.children].map((c) => c.textContent) })),
  );
  checks.eq(`${at}trend: the months, oldest first`, rows.map((r) => r.month), want.map((m) => m.month));
  for (const m of want) {
    const r = rows.find((x) => x.month === m.month);
    if (!r) continue;
    const got = { waiting_at_end: num(r.waiting), started: num(r.started), median_days: num(r.median), p90_days: num(r.p90), within_limit_share: num(r.share) };
    const close = (a, b, tol) => (a === null || b === null ? a === b : Math.abs(a - b) <= tol);
    checks.ok(
      `${at}trend ${m.month}: waiting at its end, treatments started, their median and 90th percentile wait, share within the limit`,
      got.waiting_at_end === m.waiting_at_end &&
        got.started === m.started &&
        close(got.median_days, m.median_days, DAYS_TOL) &&
        close(got.p90_days, m.p90_days, DAYS_TOL) &&
        close(got.within_limit_share, m.within_limit_share, SHARE_TOL),
      `got ${JSON.stringify(got)}, expected ${JSON.stringify(m)}`,
    );
    checks.eq(
      `${at}trend ${m.month}: the row reads`,
      r.cells.map(squash),
      [fmtMonth(language, m.month), fmtCount(language, m.waiting_at_end), fmtCount(language, m.started), fmtDays(language, m.median_days), fmtDays(language, m.p90_days), fmtShare(language, m.within_limit_share)],
    );
  }
  const waits = await chartOf(page, 'trend-chart');
  for (const [axis, what] of [[1, 'patients'], [2, 'days']]) {
    const ticks = await chartTicks(page, 'trend-chart', axis);
    checks.ok(
      `${at}trend: the ${what} axis ticks at whole numbers (its labels are not rounded)`,
      ticks && ticks.length > 1 && ticks.every((v) => Number.isInteger(v)),
      `ticks ${JSON.stringify(ticks)}`,
    );
  }
  if (checks.ok(`${at}trend: the waits chart is drawn`, waits && waits.drawn && (await page.$('#trend-chart canvas')))) {
    checks.eq(`${at}trend chart: its series`, waits.labels, WORDS.trendWaitsSeries[language]);
    checks.eq(`${at}trend chart: one point a month`, waits.data[0], want.map((m, i) => i));
    checks.eq(`${at}trend chart: the bars are who waited at each month's end`, waits.data[1], want.map((m) => m.waiting_at_end));
    checks.nearAll(`${at}trend chart: the median waits`, waits.data[2], want.map((m) => m.median_days), DAYS_TOL);
    checks.nearAll(`${at}trend chart: the 90th-percentile waits`, waits.data[3], want.map((m) => m.p90_days), DAYS_TOL);
  }
  const shares = await chartOf(page, 'trend-share-chart');
  if (checks.ok(`${at}trend: the share chart is drawn`, shares && shares.drawn && (await page.$('#trend-share-chart canvas')))) {
    checks.eq(`${at}trend share chart: its series`, shares.labels, WORDS.trendShareSeries[language]);
    checks.nearAll(`${at}trend share chart: the shares within the limit`, shares.data[1], want.map((m) => m.within_limit_share), SHARE_TOL);
  }
}

const FLOW_KEYS = ['received', 'accepted', 'rejected', 'started'];

// The 12 weeks: the table's rows (values and text) and the chart.
async function checkFlow(page, checks, e, language, at = '') {
  if (!e.flow) return;
  const want = e.flow.weeks;
  const rows = await page.$$eval('[data-testid=flow-row]', (rs) =>
    rs.map((r) => ({ ...r.dataset, cells: [...r.children].map((c) => c.textContent) })),
  );
  checks.eq(`${at}flow: the weeks, oldest first`, rows.map((r) => `${r.week} ${r.from}`), want.map((w) => `${w.week} ${w.from}`));
  for (const w of want) {
    const r = rows.find((x) => x.week === w.week);
    if (!r) continue;
    const got = Object.fromEntries(FLOW_KEYS.map((k) => [k, num(r[k])]));
    checks.eq(`${at}flow ${w.week}: received, accepted, rejected, started`, got, Object.fromEntries(FLOW_KEYS.map((k) => [k, w[k]])));
    checks.eq(`${at}flow ${w.week}: the row reads`, r.cells.map(squash), [`${w.week} (${fmtDate(language, w.from)})`, ...FLOW_KEYS.map((k) => fmtCount(language, w[k]))]);
  }
  const chart = await chartOf(page, 'flow-chart');
  if (checks.ok(`${at}flow: the chart is drawn`, chart && chart.drawn && (await page.$('#flow-chart canvas')))) {
    checks.eq(`${at}flow chart: its series`, chart.labels, WORDS.flowSeries[language]);
    checks.eq(`${at}flow chart: one point a week`, chart.data[0], want.map((w, i) => i));
    FLOW_KEYS.forEach((k, i) => checks.eq(`${at}flow chart: ${k} per week`, chart.data[i + 1], want.map((w) => w[k])));
  }
}

// visible: the regions the page may show data of (the token's, or the one
// chosen in the filter).
async function checkHidden(page, checks, when, visible = expect.regions_visible) {
  const html = await page.content();
  for (const region of expect.regions_hidden || []) {
    checks.ok(`${when}: region ${region} appears nowhere`, !html.includes(region));
  }
  for (const text of expect.texts_hidden || []) {
    checks.ok(`${when}: "${text}" appears nowhere`, !html.includes(text));
  }
  if (Array.isArray(visible) && visible.length) {
    const regions = await page.$$eval('[data-region]', (els) => [...new Set(els.map((e) => e.dataset.region))]);
    const outside = regions.filter((r) => !visible.includes(r));
    checks.ok(`${when}: every region shown is the token's`, outside.length === 0, `also shown: ${outside.join(', ')}`);
  }
}

async function showDeadlines(page, checks) {
  const e = expect.deadlines || {};
  const within = String(e.within_days || (expect.acknowledge ? 14 : 7));
  if (within !== '7') {
    await andSettle(page, () => page.click(`label[for=within-${within}]`));
  }
  await page.waitForSelector(`#sec-deadlines[data-within="${within}"][data-state="ready"]`);
  if (!e.pathway_ids) return;
  const ids = await page.$$eval('[data-testid=deadline-row]', (rs) => rs.map((r) => r.dataset.pathwayId));
  if (e.exact === false) {
    for (const id of e.pathway_ids) checks.ok(`deadlines within ${within} days: ${id} listed`, ids.includes(id));
  } else {
    checks.sameSet(`deadlines within ${within} days: the pathways listed`, ids, e.pathway_ids);
  }
}

async function acknowledge(page, checks, log) {
  const a = expect.acknowledge;
  if (!a) return;
  const row = `tr[data-testid=deadline-row][data-escalation-id="${a.escalation_id}"]`;
  if (!checks.ok(`escalation ${a.escalation_id}: its row is shown`, await page.$(row))) return;
  if (!checks.ok(`escalation ${a.escalation_id}: it has an acknowledge button`, await page.$(`${row} [data-testid=ack-button]`))) return;
  await page.click(`${row} [data-testid=ack-button]`);
  await page.waitForSelector('#ack-dialog[open] #ack-note', { visible: true });
  checks.ok('the acknowledge dialog takes the focus', await page.$eval('#ack-note', (n) => n === document.activeElement));
  await page.type('#ack-note', a.note || '');
  await shoot(page, shots, 'dashboard-ack-dialog.png', checks);
  await page.click('[data-testid=ack-confirm]');
  await page.waitForSelector(`${row}[data-acknowledged="true"]`);
  const focused = await page
    .waitForFunction((r) => document.activeElement === document.querySelector(`${r} [data-testid=ack-status]`), { timeout: 5000 }, row)
    .then(() => true, () => false);
  const status = await page.$eval(`${row} [data-testid=ack-status]`, (s) => ({ text: s.textContent, by: s.dataset.by }));
  if (a.by) checks.eq('the row shows who acknowledged', status.by, a.by);
  if (a.note) checks.includes('the row shows the note', status.text, a.note);
  checks.ok('the focus moves to the acknowledgement', focused);
  const post = log.requests.find((r) => r.method === 'POST' && r.url.endsWith(`/v1/escalations/${a.escalation_id}/ack`));
  checks.ok('the acknowledgement was posted with the bearer token', post && post.headers.authorization === `Bearer ${token}`);
  if (a.note) checks.ok('the note was posted', post && JSON.parse(post.body || '{}').note === a.note);
  await page.$eval(`${row}`, (r) => r.scrollIntoView({ block: 'center' }));
  const section = await page.$('#sec-deadlines');
  await section.screenshot({ path: `${shots}/dashboard-deadlines.png` });
  await andSettle(page, () => page.click('[data-testid=refresh]'));
  const after = await page.$eval(row, (r) => ({ acked: r.dataset.acknowledged, by: r.querySelector('[data-testid=ack-status]')?.dataset.by }));
  checks.ok('after a reload the acknowledgement is still there (recorded by the server)', after.acked === 'true' && (!a.by || after.by === a.by));
}

// Tab from the skip link until a by-unit row has the focus.
async function tabToUnitRows(page, checks) {
  await page.$eval('.skip', (s) => s.focus());
  checks.ok('the skip link comes into view when focused', await page.$eval('.skip', (s) => s.getBoundingClientRect().top >= 0));
  const seen = [];
  for (let i = 0; i < 300; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const a = document.activeElement;
      return { id: a.id, testid: a.dataset.testid || '', tag: a.tagName };
    });
    seen.push(at.id || at.testid || at.tag);
    if (at.testid === 'unit-row') break;
  }
  const reached = seen[seen.length - 1] === 'unit-row';
  checks.ok('Tab reaches the by-unit table\'s rows', reached, `stops: ${seen.join(' ')}`);
  checks.ok('the filters come before the figures in the focus order', seen.indexOf('f-region') >= 0 && seen.indexOf('f-region') < seen.length - 1);
  if (!reached) return false;
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  checks.ok('the focused row shows a visible focus ring', ring.style !== 'none' && ring.width >= 2, JSON.stringify(ring));
  return true;
}

async function worklistIds(page) {
  const ids = [];
  for (let pages = 0; pages < 200; pages++) {
    ids.push(...(await page.$$eval('[data-testid=pathway-row]', (rs) => rs.map((r) => r.dataset.pathwayId))));
    if (await page.$eval('#w-next', (b) => b.disabled)) break;
    await andSettle(page, () => page.click('#w-next'));
  }
  return ids;
}

async function openUnitByKeyboard(page, checks) {
  if (!(await tabToUnitRows(page, checks))) return;
  const want = expect.worklist && expect.worklist.unit;
  for (let i = 0; want && i < 500; i++) {
    const unit = await page.evaluate(() => document.activeElement.dataset.unit);
    if (unit === want) break;
    const moved = await page.evaluate(() => Boolean(document.activeElement.nextElementSibling));
    if (!moved) break;
    await page.keyboard.press('ArrowDown');
  }
  const unit = await page.evaluate(() => document.activeElement.dataset.unit);
  if (want) checks.eq('the arrow keys reach the unit\'s row', unit, want);
  await andSettle(page, () => page.keyboard.press('Enter'));
  checks.eq('Enter opens the worklist of that unit', await page.$eval('#w-waiting-unit', (i) => i.value), unit);
  checks.ok('the focus moves to the worklist', await page.$eval('#h-worklist', (h) => h === document.activeElement));
  const section = await page.$('#sec-worklist');
  await section.screenshot({ path: `${shots}/dashboard-worklist.png` });
  const e = expect.worklist || {};
  if (!e.pathway_ids && e.count === undefined) return;
  const ids = await worklistIds(page);
  if (e.pathway_ids) checks.sameSet(`worklist of ${unit}: the pathways, over every page`, ids, e.pathway_ids);
  if (e.count !== undefined) checks.eq(`worklist of ${unit}: the number of pathways`, ids.length, e.count);
}

// A tile's "Show overdue" opens the worklist of that model's overdue
// pathways.
async function tileToWorklist(page, checks) {
  const tile = await page.$('[data-testid=tile] button');
  if (!tile) return;
  const model = await tile.evaluate((b) => b.closest('[data-testid=tile]').dataset.model);
  await andSettle(page, () => tile.click());
  const form = await page.$eval('#worklist-form', (f) => ({ model: f.elements.model.value, overdue: f.elements.overdue.checked }));
  checks.ok(`a tile's "show overdue" opens the overdue worklist of model ${model}`, form.model === model && form.overdue, JSON.stringify(form));
  const models = await page.$$eval('[data-testid=pathway-row]', (rs) => rs.map((r) => r.dataset.model));
  checks.ok(`that worklist lists only model ${model}`, models.every((m) => m === model), models.join(' '));
}

async function switchLanguage(page, checks) {
  const target = expect.switch_lang || (lang === 'nb' ? 'da' : 'nb');
  await page.select('#lang', target);
  checks.eq(`the switch sets the page's language to ${target}`, await page.$eval('html', (h) => h.lang), target);
  checks.eq(`the heading reads in ${target}`, squash(await page.$eval('[data-testid=tiles-title]', (h) => h.textContent)), WORDS.tilesTitle[target]);
  checks.eq(`the worklist heading reads in ${target}`, squash(await page.$eval('[data-testid=worklist-title]', (h) => h.textContent)), WORDS.worklistTitle[target]);
  const tile = (await readTiles(page)).find((t) => t.share !== 'null' && Number(t.running) > 0);
  if (tile) checks.eq(`numbers are written the ${target} way`, squash(tile.shareText), fmtPercent(target, Number(tile.share)));
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, shots, `dashboard-${target}.png`, checks);
}

// Each country's region chosen in the page's own region filter, the page
// in that country's language: the same figures, of that region only, and
// the screenshots of issue 14.
async function countryViews(page, checks) {
  for (const c of expect.countries || []) {
    const at = `${c.region} (${c.lang}): `;
    await page.select('#lang', c.lang);
    await andSettle(page, () => page.select('#f-region', c.region));
    checks.eq(`${at}the region filter holds the region`, await page.$eval('#f-region', (s) => s.value), c.region);
    checks.eq(`${at}the page reads in ${c.lang}`, await page.$eval('html', (h) => h.lang), c.lang);
    checks.eq(`${at}the heading reads in ${c.lang}`, squash(await page.$eval('[data-testid=tiles-title]', (h) => h.textContent)), WORDS.tilesTitle[c.lang]);
    await checkTiles(page, checks, c, c.lang, at);
    await checkUnits(page, checks, c, at);
    await checkHistogram(page, checks, c, at);
    await checkTrend(page, checks, c, c.lang, at);
    await checkFlow(page, checks, c, c.lang, at);
    await checkHidden(page, checks, `${at}view`, [c.region]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await settle(page);
    await shoot(page, shots, `${c.shot}.png`, checks);
    await shoot(page, shots, `${c.shot}-full.png`, checks, true);
  }
  if ((expect.countries || []).length) {
    await andSettle(page, () => page.select('#f-region', ''));
    await page.select('#lang', lang);
  }
}

function checkTraffic(checks, log) {
  const api = log.requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
  checks.ok('the page called the API', api.length > 0);
  checks.ok('every API call carries a bearer token', api.every((r) => /^Bearer /.test(r.headers.authorization || '')));
  checks.ok('the token is in no URL', log.requests.every((r) => !r.url.includes(token)));
  const foreign = log.requests.filter((r) => !r.url.startsWith(base) && !r.url.startsWith('data:'));
  checks.ok('the page asks nothing of any other server', foreign.length === 0, foreign.map((r) => r.url).join(' '));
  const failures = log.failures.filter((f) => !(f.status === 401 && new URL(f.url).pathname === '/v1/whoami'));
  checks.ok('no answer failed but the wrong token\'s', failures.length === 0, JSON.stringify(failures));
  checks.ok('no script error', log.pageErrors.length === 0 && log.consoleErrors.length === 0, [...log.pageErrors, ...log.consoleErrors].join(' | '));
}

main(lang, async (browser, checks) => {
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  await page.setViewport(LAPTOP);
  await recordCharts(page);
  const log = watch(page);

  await signIn(page, checks);
  await checkTokenKept(page, checks);
  await checkWho(page, checks);
  await setAsOf(page);
  await checkTiles(page, checks, expect, lang);
  await checkUnits(page, checks, expect);
  await checkHistogram(page, checks, expect);
  await checkTrend(page, checks, expect, lang);
  await checkFlow(page, checks, expect, lang);
  await checkHidden(page, checks, 'first view');
  await settle(page);
  await shoot(page, shots, 'dashboard-laptop.png', checks);
  await shoot(page, shots, 'dashboard-laptop-full.png', checks, true);

  await showDeadlines(page, checks);
  await acknowledge(page, checks, log);
  await openUnitByKeyboard(page, checks);
  await tileToWorklist(page, checks);
  await checkHidden(page, checks, 'after the deadlines and the worklist');

  await page.setViewport(TABLET);
  await page.evaluate(() => window.scrollTo(0, 0));
  await settle(page);
  await shoot(page, shots, 'dashboard-tablet.png', checks);
  await shoot(page, shots, 'dashboard-tablet-full.png', checks, true);
  await page.setViewport(LAPTOP);
  await settle(page);

  await switchLanguage(page, checks);
  await countryViews(page, checks);
  checkTraffic(checks, log);
});

