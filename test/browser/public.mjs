#!/usr/bin/env node
// The public waiting-times page in a real browser, against a running
// daemon: no token asked for or sent, every expected unit's figures as the
// calling test computed them, suppressed figures read "fewer than 5
// patients" in each of the four languages, screenshots saved.  Exit status
// 0 only when every assertion passed.
//
//   node test/browser/public.mjs --url http://127.0.0.1:PORT \
//        --expect expect.json --screenshots DIR [--lang en|da|nb|sv] \
//        [--path /public.html] [--timeout-ms 30000]
//
// expect.json (every key optional):
//
// {
//   "lang": "sv",                         browser language; the page opens in it
//   "rows": [{"region": "helse-vest", "level": "clinic",
//             "unit": "bergen-smerteklinikk", "median_days": 40,
//             "p90_days": 75, "started": 12, "waiting_now": null}],
//                                         null: suppressed (fewer than 5)
//   "rows_exact": true,                   no other rows
//   "texts_hidden": ["p-000042"]          appear nowhere (no patient data)
// }

import fs from 'node:fs';
import { LAPTOP, TABLET, WORDS, fmtNumber, leadingNumber, main, parseArgs, settle, shoot, squash, watch } from './lib.mjs';

const HELP = 'usage: public.mjs --url BASE --expect FILE --screenshots DIR [--lang en|da|nb|sv] [--path /public.html] [--timeout-ms N]';
const args = parseArgs(process.argv.slice(2), ['url', 'expect', 'screenshots', 'lang', 'path', 'timeout-ms'], ['url', 'expect', 'screenshots'], HELP);
const expect = JSON.parse(fs.readFileSync(args.expect, 'utf8'));
const base = args.url.replace(/\/+$/, '');
const lang = expect.lang || args.lang || 'en';
const pagePath = args.path || '/public.html';
const timeout = Number(args['timeout-ms'] || 30000);
const shots = args.screenshots;
fs.mkdirSync(shots, { recursive: true });

const FIGURES = [
  ['median_days', 1],
  ['p90_days', 1],
  ['started', 0],
  ['waiting_now', 0],
];

function readRows(page) {
  return page.$$eval('[data-testid=public-row]', (rows) =>
    rows.map((r) => {
      const cell = (key) => {
        const c = r.querySelector(`[data-testid=${key}]`);
        return { value: c.dataset.value ?? null, suppressed: c.dataset.suppressed === 'true', text: c.textContent };
      };
      return {
        ...r.dataset,
        median_days: cell('median_days'),
        p90_days: cell('p90_days'),
        started: cell('started'),
        waiting_now: cell('waiting_now'),
      };
    }),
  );
}

function checkFigure(checks, name, cell, expected, digits, language) {
  if (expected === null) {
    checks.ok(`${name}: suppressed`, cell.suppressed, `shows ${cell.text}`);
    checks.eq(`${name}: reads "${WORDS.suppressed[language]}"`, squash(cell.text), WORDS.suppressed[language]);
    return;
  }
  if (!checks.ok(`${name}: shown`, !cell.suppressed && cell.value !== null, `shows ${cell.text}`)) return;
  checks.near(`${name}: value`, cell.value, expected, digits ? 0.05 : 0);
  checks.eq(`${name}: reads`, leadingNumber(cell.text), fmtNumber(language, Number(cell.value), digits));
}

async function checkRows(page, checks, language) {
  const rows = await readRows(page);
  for (const e of expect.rows || []) {
    const name = `${e.region}/${e.level}/${e.unit}`;
    const got = rows.find((r) => r.region === e.region && r.level === e.level && r.unit === e.unit);
    if (!checks.ok(`${name}: row shown`, got)) continue;
    for (const [key, digits] of FIGURES) {
      if (key in e) checkFigure(checks, `${name}: ${key}`, got[key], e[key], digits, language);
    }
  }
  if (expect.rows_exact) {
    const key = (r) => `${r.region}/${r.level}/${r.unit}`;
    checks.sameSet('no other rows', rows.map(key), (expect.rows || []).map(key));
  }
}

// Every suppressed cell, in whatever language the page is in now.
async function checkSuppressedWording(page, checks, language) {
  const texts = await page.$$eval('[data-suppressed=true]', (cs) => cs.map((c) => c.textContent));
  const wrong = texts.filter((x) => squash(x) !== WORDS.suppressed[language]);
  checks.ok(`in ${language}: ${texts.length} suppressed figures read "${WORDS.suppressed[language]}"`, wrong.length === 0, wrong.join(' | '));
}

async function checkLanguage(page, checks, language) {
  checks.eq(`in ${language}: the page's language`, await page.$eval('html', (h) => h.lang), language);
  checks.eq(`in ${language}: the title`, squash(await page.$eval('[data-testid=public-title]', (h) => h.textContent)), WORDS.publicTitle[language]);
  await checkSuppressedWording(page, checks, language);
}

function checkTraffic(checks, log) {
  checks.ok('the page fetched /public/waiting-times', log.requests.some((r) => new URL(r.url).pathname === '/public/waiting-times'));
  checks.ok('no request carries a token', log.requests.every((r) => !r.headers.authorization));
  const foreign = log.requests.filter((r) => !r.url.startsWith(base) && !r.url.startsWith('data:'));
  checks.ok('the page asks nothing of any other server', foreign.length === 0, foreign.map((r) => r.url).join(' '));
  checks.ok('no answer failed', log.failures.length === 0, JSON.stringify(log.failures));
  checks.ok('no script error', log.pageErrors.length === 0 && log.consoleErrors.length === 0, [...log.pageErrors, ...log.consoleErrors].join(' | '));
}

main(lang, async (browser, checks) => {
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  await page.setViewport(LAPTOP);
  const log = watch(page);

  await page.goto(`${base}${pagePath}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('main[aria-busy="false"]');
  checks.ok('no token is asked for', !(await page.$('input[type=password]')));
  checks.eq('the page opens in the browser\'s language', await page.$eval('html', (h) => h.lang), lang);
  await checkRows(page, checks, lang);
  const html = await page.content();
  for (const text of expect.texts_hidden || []) checks.ok(`"${text}" appears nowhere`, !html.includes(text));
  await settle(page);
  await shoot(page, shots, 'public-laptop.png', checks);
  await shoot(page, shots, 'public-laptop-full.png', checks, true);
  await page.setViewport(TABLET);
  await settle(page);
  await shoot(page, shots, 'public-tablet.png', checks);
  await page.setViewport(LAPTOP);

  for (const other of ['en', 'da', 'nb', 'sv'].filter((l) => l !== lang).concat(lang)) {
    await page.select('#lang', other);
    await checkLanguage(page, checks, other);
  }
  const shown = ['en', 'da', 'nb', 'sv'].find((l) => l !== lang);
  await page.select('#lang', shown);
  await settle(page);
  await shoot(page, shots, `public-${shown}.png`, checks);
  checkTraffic(checks, log);
});
