// The three charts, drawn with the vendored uPlot (a classic script that
// defines window.uPlot).  Each chart follows its container's width; the
// figures behind each chart are also in a table beside it, for screen
// readers and for anyone who wants the numbers.

import { t, num, pct, month } from './i18n.js';

export const COLORS = {
  within: '#4a6fa5',
  beyond: '#c2553a',
  limit: '#b3261e',
  waiting: '#9db4d6',
  median: '#1b7f5f',
  p90: '#b8572a',
  share: '#6b3fa0',
  received: '#2f5d9b',
  accepted: '#1b7f5f',
  rejected: '#b3261e',
  started: '#7a4fb3',
};

const AXIS = { stroke: '#3d4450', grid: { stroke: '#e3e6ea', width: 1 }, ticks: { stroke: '#c9ced6', width: 1 } };

function size(el) {
  const width = Math.max(260, Math.floor(el.clientWidth || 600));
  return { width, height: Math.round(Math.min(300, Math.max(190, width * 0.42))) };
}

// Mounts a chart into el (emptied first) and keeps it as wide as el.
// Returns a handle whose destroy() frees both.
export function mount(el, opts, data) {
  el.replaceChildren();
  const chart = new window.uPlot({ ...opts, ...size(el) }, data, el);
  let last = el.clientWidth;
  const observer = new ResizeObserver(() => {
    if (el.clientWidth !== last) {
      last = el.clientWidth;
      chart.setSize(size(el));
    }
  });
  observer.observe(el);
  return {
    chart,
    destroy() {
      observer.disconnect();
      chart.destroy();
    },
  };
}

function bars() {
  return window.uPlot.paths.bars({ size: [0.86, 80], align: 1 });
}

// A dashed vertical line at x (in the x scale's units), labelled.
function verticalLine(u, x, label) {
  const ctx = u.ctx;
  const px = Math.round(u.valToPos(x, 'x', true));
  const { top, height } = u.bbox;
  const ratio = window.uPlot.pxRatio || 1;
  ctx.save();
  ctx.strokeStyle = COLORS.limit;
  ctx.fillStyle = COLORS.limit;
  ctx.lineWidth = 2 * ratio;
  ctx.setLineDash([6 * ratio, 4 * ratio]);
  ctx.beginPath();
  ctx.moveTo(px, top);
  ctx.lineTo(px, top + height);
  ctx.stroke();
  ctx.font = `${12 * ratio}px system-ui, sans-serif`;
  ctx.textAlign = px > u.bbox.left + u.bbox.width * 0.8 ? 'right' : 'left';
  ctx.fillText(label, px + (ctx.textAlign === 'left' ? 6 : -6) * ratio, top + 14 * ratio);
  ctx.restore();
}

// Bands of 7 days as bars over weeks waited, those past the limit in red.
export function histogram(el, h) {
  const bands = h.bands || [];
  const limit = h.limit_days;
  const x = bands.map((b) => b.from_days / 7);
  const hasLimit = limit !== null && limit !== undefined;
  const past = (b) => hasLimit && b.from_days > limit;
  const within = bands.map((b) => (past(b) ? null : b.count));
  const beyond = bands.map((b) => (past(b) ? b.count : null));
  const lastWeek = Math.max(x.length ? x[x.length - 1] + 1 : 1, limit ? limit / 7 + 1 : 0);
  const bandLabel = (v) => (v === null || v === undefined ? '' : t('hist.band', { from: num(v * 7), to: num(v * 7 + 6) }));
  const opts = {
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: false, range: () => [0, Math.ceil(lastWeek)] },
      y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
    },
    series: [
      { label: t('hist.axisX'), value: (u, v) => bandLabel(v) },
      { label: hasLimit ? t('tile.withinLabel') : t('hist.axisY'), fill: COLORS.within, stroke: COLORS.within, width: 0, paths: bars(), points: { show: false } },
      ...(hasLimit ? [{ label: t('hist.beyond'), fill: COLORS.beyond, stroke: COLORS.beyond, width: 0, paths: bars(), points: { show: false } }] : []),
    ],
    axes: [
      { ...AXIS, label: t('hist.axisX'), incrs: [1, 2, 4, 8, 13, 26, 52], values: (u, splits) => splits.map((v) => num(v)) },
      { ...AXIS, label: t('hist.axisY'), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (u, splits) => splits.map((v) => num(v)) },
    ],
    hooks: {
      draw: [
        (u) => {
          if (hasLimit) verticalLine(u, limit / 7, `${t('hist.limit')}: ${t('unit.days', { n: num(limit) })}`);
        },
      ],
    },
  };
  return mount(el, opts, hasLimit ? [x, within, beyond] : [x, within]);
}

function monthAxis(months) {
  return {
    ...AXIS,
    incrs: [1, 2, 3],
    values: (u, splits) => splits.map((v) => (months[v] ? month(months[v].month, true) : '')),
  };
}

// Waiting at each month's end (bars, left) with the median and 90th
// percentile wait of the treatments started that month (lines, right).
export function trendWaits(el, months) {
  const x = months.map((m, i) => i);
  const opts = {
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(months.length - 0.5, 0.5)] },
      n: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.15))] },
      d: { range: (u, min, max) => [0, Math.max(10, Math.ceil((max || 0) * 1.15))] },
    },
    series: [
      { label: t('trend.month'), value: (u, v) => (months[v] ? month(months[v].month) : '') },
      { label: t('trend.waitingAtEnd'), scale: 'n', fill: COLORS.waiting, stroke: COLORS.waiting, width: 0, paths: window.uPlot.paths.bars({ size: [0.6, 60], align: 0 }), points: { show: false } },
      { label: t('trend.median'), scale: 'd', stroke: COLORS.median, width: 2, points: { show: true, size: 6 }, spanGaps: false },
      { label: t('trend.p90'), scale: 'd', stroke: COLORS.p90, width: 2, dash: [6, 4], points: { show: true, size: 6 }, spanGaps: false },
    ],
    axes: [
      monthAxis(months),
      // Whole patients and days: without incrs uPlot ticks at 2.5 and
      // the labels round to 3, 5, 8.
      { ...AXIS, scale: 'n', label: t('axis.patients'), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (u, s) => s.map((v) => num(v)) },
      { ...AXIS, scale: 'd', side: 1, label: t('axis.days'), grid: { show: false }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], values: (u, s) => s.map((v) => num(v)) },
    ],
  };
  const data = [x, months.map((m) => m.waiting_at_end), months.map((m) => m.median_days), months.map((m) => m.p90_days)];
  return mount(el, opts, data);
}

export function trendShare(el, months) {
  const x = months.map((m, i) => i);
  const opts = {
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(months.length - 0.5, 0.5)] },
      y: { range: () => [0, 1] },
    },
    series: [
      { label: t('trend.month'), value: (u, v) => (months[v] ? month(months[v].month) : '') },
      { label: t('trend.share'), stroke: COLORS.share, fill: 'rgba(107,63,160,0.08)', width: 2, points: { show: true, size: 6 }, value: (u, v) => pct(v) },
    ],
    axes: [monthAxis(months), { ...AXIS, size: 56, values: (u, s) => s.map((v) => pct(v).replace(/[.,]0(?=\s?%)/, '')) }],
  };
  return mount(el, opts, [x, months.map((m) => m.within_limit_share)]);
}

// Referrals received, accepted, rejected and treatments started per week.
export function flow(el, weeks) {
  const x = weeks.map((w, i) => i);
  const line = (key) => ({
    label: t(`flow.${key}`),
    stroke: COLORS[key],
    width: 2,
    dash: key === 'rejected' ? [5, 4] : undefined,
    points: { show: true, size: 6, fill: COLORS[key] },
  });
  const opts = {
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false, range: () => [-0.3, Math.max(weeks.length - 0.7, 0.7)] },
      y: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.15))] },
    },
    series: [
      { label: t('flow.week'), value: (u, v) => (weeks[v] ? weeks[v].week : '') },
      line('received'),
      line('accepted'),
      line('rejected'),
      line('started'),
    ],
    axes: [
      { ...AXIS, incrs: [1, 2, 4], values: (u, s) => s.map((v) => (weeks[v] ? weeks[v].week.replace(/^\d{4}-/, '') : '')) },
      { ...AXIS, label: t('axis.patients'), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], values: (u, s) => s.map((v) => num(v)) },
    ],
  };
  const data = [x, ...['received', 'accepted', 'rejected', 'started'].map((k) => weeks.map((w) => w[k]))];
  return mount(el, opts, data);
}
