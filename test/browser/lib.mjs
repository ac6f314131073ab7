// What the browser drivers share: the command line, Debian's chromium
// started headless in a throwaway profile, assertions printed one a line
// (TAP: "ok N - ..." / "not ok N - ...: why"), and the page's own errors.
//
// puppeteer-core is resolved from test/node/node_modules through the
// symlink test/browser/node_modules; it never downloads a browser.

import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LAPTOP = { width: 1366, height: 768 };
export const TABLET = { width: 820, height: 1180, isMobile: false, hasTouch: true };

export const LOCALES = { en: 'en-GB', da: 'da-DK', nb: 'nb-NO', sv: 'sv-SE' };

// The page's wording, written here again on purpose: a test that read the
// page's own table would pass whatever the table said.
export const WORDS = {
  suppressed: { en: 'fewer than 5 patients', da: 'færre end 5 patienter', nb: 'færre enn 5 pasienter', sv: 'färre än 5 patienter' },
  tilesTitle: { en: 'Within the legal limit', da: 'Inden for lovens frist', nb: 'Innenfor lovens frist', sv: 'Inom lagstadgad tid' },
  publicTitle: {
    en: 'Waiting times for pain treatment',
    da: 'Ventetider til smertebehandling',
    nb: 'Ventetider for smertebehandling',
    sv: 'Väntetider för smärtbehandling',
  },
  worklistTitle: { en: 'Worklist', da: 'Arbejdsliste', nb: 'Arbeidsliste', sv: 'Arbetslista' },
  none: { en: '—', da: '—', nb: '—', sv: '—' },
  // The series of the trend's and the flow's charts, as their legends
  // name them (the x series first).
  trendWaitsSeries: {
    en: ['Month', "Waiting at month's end", 'Median wait, days', '90th percentile, days'],
    da: ['Måned', 'Ventende ved månedens udgang', 'Median ventetid, dage', '90. percentil, dage'],
    nb: ['Måned', 'Ventende ved månedsslutt', 'Median ventetid, dager', '90-persentil, dager'],
    sv: ['Månad', 'Väntande vid månadens slut', 'Median väntetid, dagar', '90:e percentil, dagar'],
  },
  trendShareSeries: {
    en: ['Month', 'Within the limit'],
    da: ['Måned', 'Inden for fristen'],
    nb: ['Måned', 'Innenfor fristen'],
    sv: ['Månad', 'Inom tidsgränsen'],
  },
  flowSeries: {
    en: ['Week', 'Received', 'Accepted', 'Rejected', 'Treatments started'],
    da: ['Uge', 'Modtaget', 'Accepteret', 'Afvist', 'Behandlinger startet'],
    nb: ['Uke', 'Mottatt', 'Godtatt', 'Avvist', 'Behandlinger startet'],
    sv: ['Vecka', 'Mottagna', 'Accepterade', 'Avvisade', 'Påbörjade behandlingar'],
  },
};

export function usage(text) {
  process.stderr.write(`${text}\n`);
  process.exit(2);
}

// --name value or --name=value; names must be in `known`.
export function parseArgs(argv, known, required, help) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = argv[i].match(/^--([a-z-]+)(?:=(.*))?$/);
    if (!m || !known.includes(m[1])) usage(`unknown argument ${argv[i]}\n${help}`);
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
    if (out[m[1]] === undefined) usage(`--${m[1]} needs a value\n${help}`);
  }
  for (const name of required) if (!out[name]) usage(`--${name} is required\n${help}`);
  return out;
}

// Spaces of every width read alike: ICU puts no-break spaces in numbers.
export function squash(s) {
  return String(s ?? '')
    .replace(/[\s\u00a0\u202f]+/g, ' ')
    .trim();
}

// The number a text starts with, as written ("1 234,5" of "1 234,5 d").
export function leadingNumber(text) {
  return (squash(text).match(/^\d[\d.,\s]*/) || [''])[0].trim();
}

export function fmtPercent(lang, share) {
  return squash(
    new Intl.NumberFormat(LOCALES[lang], { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(share),
  );
}

export function fmtNumber(lang, n, digits = 1) {
  return squash(new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: digits }).format(n));
}

// "2026-01" as the page writes a month ("Jan 2026").
export function fmtMonth(lang, ym) {
  return squash(new Intl.DateTimeFormat(LOCALES[lang], { timeZone: 'UTC', month: 'short', year: 'numeric' }).format(new Date(`${ym}-01T00:00:00Z`)));
}

// A date (YYYY-MM-DD) as the page writes it ("26 Jan 2026").
export function fmtDate(lang, iso) {
  return squash(new Intl.DateTimeFormat(LOCALES[lang], { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(`${iso}T00:00:00Z`)));
}

// Days with one decimal and the unit ("12,5 d"); counts; shares.
export function fmtDays(lang, n) {
  return n === null || n === undefined ? WORDS.none[lang] : `${fmtNumber(lang, n, 1)} d`;
}

export function fmtCount(lang, n) {
  return n === null || n === undefined ? WORDS.none[lang] : fmtNumber(lang, n, 0);
}

export function fmtShare(lang, share) {
  return share === null || share === undefined ? WORDS.none[lang] : fmtPercent(lang, share);
}

// What the page hands uPlot: before the page's scripts run, window.uPlot
// is made a setter that wraps the vendored constructor, so that every
// chart drawn leaves its container's id, its series' labels and its data
// in window.__painpathCharts (the last chart of each container).  The
// page's own code is not touched; puppeteer injects this.
export function recordCharts(page) {
  return page.evaluateOnNewDocument(() => {
    let real;
    window.__painpathCharts = {};
    window.__painpathChartInstances = {};
    Object.defineProperty(window, 'uPlot', {
      configurable: true,
      get: () => real,
      set(ctor) {
        real = new Proxy(ctor, {
          construct(target, args, newTarget) {
            const chart = Reflect.construct(target, args, newTarget);
            const [opts, data, el] = args;
            if (el && el.id) {
              window.__painpathChartInstances[el.id] = chart;
              window.__painpathCharts[el.id] = {
                labels: (opts.series || []).map((s) => s.label),
                data: (data || []).map((series) => Array.from(series, (v) => (v === undefined ? null : v))),
                drawn: Boolean(el.querySelector('canvas')),
              };
            }
            return chart;
          },
        });
      },
    });
  });
}

export class Checks {
  constructor() {
    this.count = 0;
    this.failed = 0;
  }

  ok(name, pass, why = '') {
    this.count += 1;
    if (pass) {
      console.log(`ok ${this.count} - ${name}`);
    } else {
      this.failed += 1;
      console.log(`not ok ${this.count} - ${name}${why ? `: ${why}` : ''}`);
    }
    return Boolean(pass);
  }

  eq(name, actual, expected) {
    const pass = JSON.stringify(actual) === JSON.stringify(expected);
    return this.ok(name, pass, `got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }

  // Numbers within tol; null only equals null.
  near(name, actual, expected, tol) {
    const a = actual === null || actual === undefined || actual === 'null' ? null : Number(actual);
    const e = expected === null || expected === undefined ? null : Number(expected);
    const pass = a === null || e === null ? a === e : Math.abs(a - e) <= tol;
    return this.ok(name, pass, `got ${a}, expected ${e} (±${tol})`);
  }

  sameSet(name, actual, expected) {
    const a = [...new Set(actual)].sort();
    const e = [...new Set(expected)].sort();
    const missing = e.filter((x) => !a.includes(x));
    const extra = a.filter((x) => !e.includes(x));
    return this.ok(name, missing.length === 0 && extra.length === 0, `missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`);
  }

  // Arrays of numbers, each within tol; null only equals null.
  nearAll(name, actual, expected, tol) {
    const same = (a, e) => (a === null || e === null ? a === e : Math.abs(Number(a) - Number(e)) <= tol);
    const pass = Array.isArray(actual) && actual.length === expected.length && actual.every((a, i) => same(a, expected[i]));
    return this.ok(name, pass, `got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} (±${tol})`);
  }

  includes(name, text, part) {
    return this.ok(name, squash(text).includes(squash(part)), `${JSON.stringify(squash(text))} lacks ${JSON.stringify(squash(part))}`);
  }

  done() {
    console.log(`1..${this.count}`);
    console.log(`# ${this.count - this.failed} passed, ${this.failed} failed`);
    return this.failed === 0 && this.count > 0 ? 0 : 1;
  }
}

// Chromium without the background services that would otherwise try the
// network at start (this network refuses them, and they would flood it),
// in the language the test asks for (navigator.languages follows it).
export async function launch(lang) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'painpath-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.PAINPATH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      `--lang=${LOCALES[lang] || lang}`,
      `--accept-lang=${LOCALES[lang] || lang},${lang}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Records what the page did: uncaught errors, console errors, every
// request with its headers and every answer of 400 or more.
export function watch(page) {
  const log = { pageErrors: [], consoleErrors: [], requests: [], failures: [] };
  page.on('pageerror', (e) => log.pageErrors.push(String(e.message || e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) log.consoleErrors.push(m.text());
  });
  page.on('request', (r) => log.requests.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() || null }));
  page.on('response', (r) => {
    if (r.status() >= 400) log.failures.push({ url: r.url(), status: r.status() });
  });
  page.on('requestfailed', (r) => log.failures.push({ url: r.url(), status: 0, error: r.failure() && r.failure().errorText }));
  return log;
}

// Two animation frames: layout and the charts' resize have run.
export function settle(page) {
  return page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

export async function shoot(page, dir, name, checks, fullPage = false) {
  const file = path.join(dir, name);
  await page.screenshot({ path: file, fullPage });
  checks.ok(`screenshot ${file}`, fs.statSync(file).size > 1000);
}

// Runs a driver's steps; a crash is a failed assertion, never a pass.
export async function main(lang, steps) {
  const checks = new Checks();
  let session = null;
  try {
    session = await launch(lang);
    await steps(session.browser, checks);
  } catch (e) {
    checks.ok('the driver ran to the end', false, e && e.stack ? e.stack : String(e));
  } finally {
    if (session) await session.close();
  }
  process.exit(checks.done());
}
