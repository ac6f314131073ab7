// 6. Flow: referrals received, accepted, rejected and treatments started,
// per week.

import { $, h, clear, headRow } from '../dom.js';
import { t, num, date } from '../i18n.js';
import { flow as drawFlow } from '../charts.js';

const KEYS = ['received', 'accepted', 'rejected', 'started'];

export default {
  id: 'flow',
  el: null,
  data: null,
  gen: 0,
  chart: null,

  init() {
    this.el = $('#sec-flow');
  },

  fetch(ctx) {
    return ctx.api.get('/v1/stats/flow', { weeks: 12, ...ctx.params('region', 'level', 'unit', 'model', 'as_of') });
  },

  render() {
    const weeks = (this.data && this.data.weeks) || [];
    if (this.chart) this.chart.destroy();
    this.chart = null;
    const el = clear($('#flow-chart'));
    if (this.data) this.chart = drawFlow(el, weeks);
    const table = this.el.querySelector('[data-testid=flow-table]');
    clear(table.tHead).append(headRow([[t('flow.week')], ...KEYS.map((k) => [t(`flow.${k}`), 'num'])]));
    const body = clear(table.tBodies[0]);
    for (const w of weeks) {
      body.append(
        h(
          'tr',
          { 'data-testid': 'flow-row', data: { week: w.week, from: w.from, received: w.received, accepted: w.accepted, rejected: w.rejected, started: w.started } },
          h('th', { scope: 'row' }, `${w.week} (${date(w.from)})`),
          KEYS.map((k) => h('td', { class: 'num' }, num(w[k]))),
        ),
      );
    }
  },
};
