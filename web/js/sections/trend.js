// 3. Trend: the last 12 months, waiting at each month's end, the waits of
// treatments started that month, the share within the limit.

import { $, h, clear, headRow } from '../dom.js';
import { t, num, pct, days, month } from '../i18n.js';
import { nullable } from '../common.js';
import { trendWaits, trendShare } from '../charts.js';

export default {
  id: 'trend',
  el: null,
  data: null,
  gen: 0,
  charts: [],

  init() {
    this.el = $('#sec-trend');
  },

  fetch(ctx) {
    return ctx.api.get('/v1/stats/trend', { months: 12, ...ctx.params('region', 'level', 'unit', 'model', 'as_of') });
  },

  render() {
    const months = (this.data && this.data.months) || [];
    this.charts.forEach((c) => c.destroy());
    this.charts = [];
    const waitsEl = clear($('#trend-chart'));
    const shareEl = clear($('#trend-share-chart'));
    if (this.data) this.charts = [trendWaits(waitsEl, months), trendShare(shareEl, months)];
    this.renderTable(months);
  },

  renderTable(months) {
    const table = this.el.querySelector('[data-testid=trend-table]');
    clear(table.tHead).append(
      headRow([
        [t('trend.month')],
        [t('trend.waitingAtEnd'), 'num'],
        [t('trend.started'), 'num'],
        [t('trend.median'), 'num'],
        [t('trend.p90'), 'num'],
        [t('trend.share'), 'num'],
      ]),
    );
    const body = clear(table.tBodies[0]);
    for (const m of months) {
      body.append(
        h(
          'tr',
          {
            'data-testid': 'trend-row',
            data: {
              month: m.month,
              waiting: nullable(m.waiting_at_end),
              started: nullable(m.started),
              median: nullable(m.median_days),
              p90: nullable(m.p90_days),
              share: nullable(m.within_limit_share),
            },
          },
          h('th', { scope: 'row' }, month(m.month)),
          h('td', { class: 'num' }, num(m.waiting_at_end)),
          h('td', { class: 'num' }, num(m.started)),
          h('td', { class: 'num' }, days(m.median_days)),
          h('td', { class: 'num' }, days(m.p90_days)),
          h('td', { class: 'num' }, pct(m.within_limit_share)),
        ),
      );
    }
  },
};
