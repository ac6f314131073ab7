// 2. Who waits, and for how long: weekly bands of current waits, the
// limit marked, the median and the 90th percentile.

import { $, h, clear, fillSelect, headRow } from '../dom.js';
import { t, num, days, modelName, ruleName } from '../i18n.js';
import { nullable } from '../common.js';
import { histogram as drawHistogram } from '../charts.js';

// Clocks that run between a referral received and treatment started: the
// waits this chart shows.
const WAIT_RULES = ['assessment', 'free_choice', 'treatment'];

function figure(id, raw, text) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = nullable(raw);
}

export default {
  id: 'hist',
  el: null,
  data: null,
  gen: 0,
  rules: [],
  chart: null,

  init(ctx) {
    this.el = $('#sec-hist');
    $('#hist-rule').addEventListener('change', () => ctx.refresh(this));
    this.fillRules(ctx);
  },

  fillRules(ctx) {
    const options = [['', t('hist.allWaits')]];
    for (const r of this.rules) {
      options.push([`${r.model}:${r.rule}`, `${modelName(r.model, ctx.state.models)}: ${ruleName(r.rule)}`]);
    }
    const select = $('#hist-rule');
    const before = select.value;
    fillSelect(select, options, before);
    return before !== select.value;
  },

  // The tiles' rules, offered as the clock whose limit the chart marks.
  setRules(ctx, rules) {
    this.rules = rules.filter((r) => WAIT_RULES.includes(r.rule));
    if (this.fillRules(ctx)) ctx.refresh(this);
  },

  fetch(ctx) {
    const params = ctx.params('region', 'level', 'unit', 'model', 'as_of');
    const chosen = $('#hist-rule').value;
    if (chosen) {
      const [model, rule] = chosen.split(':');
      Object.assign(params, { model, rule });
    }
    return ctx.api.get('/v1/stats/histogram', params);
  },

  render(ctx) {
    const d = this.data;
    this.fillRules(ctx);
    figure('#hist-waiting', d ? d.waiting : null, d ? num(d.waiting) : '');
    figure('#hist-median', d ? d.median_days : null, d ? days(d.median_days) : '');
    figure('#hist-p90', d ? d.p90_days : null, d ? days(d.p90_days) : '');
    const limit = d ? d.limit_days : null;
    figure('#hist-limit', limit, d && limit !== null && limit !== undefined ? t('unit.days', { n: num(limit) }) : '');
    if (d && (limit === null || limit === undefined)) $('#hist-limit').append(h('span', { class: 'sub' }, t('hist.noLimit')));
    if (this.chart) this.chart.destroy();
    this.chart = null;
    const chartEl = clear($('#hist-chart'));
    if (d) this.chart = drawHistogram(chartEl, d);
    this.renderTable(d);
  },

  renderTable(d) {
    const table = this.el.querySelector('[data-testid=hist-table]');
    clear(table.tHead).append(headRow([[t('hist.band.col')], [t('hist.count.col'), 'num']]));
    const body = clear(table.tBodies[0]);
    for (const b of (d && d.bands) || []) {
      body.append(
        h(
          'tr',
          { 'data-testid': 'hist-band', data: { from: b.from_days, to: b.to_days, count: b.count } },
          h('td', {}, t('hist.band', { from: num(b.from_days), to: num(b.to_days) })),
          h('td', { class: 'num' }, num(b.count)),
        ),
      );
    }
  },
};
