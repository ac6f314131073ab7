// 4. By unit: where people wait, for how long, how many are overdue.  A
// row opens that unit's worklist (click, Enter or Space).

import { $, h, clear, headRow } from '../dom.js';
import { t, num, pct, days, prettyId, levelName } from '../i18n.js';
import { nullable, rowKeys } from '../common.js';

// Most overdue first, then most waiting: the morning's order of work.
function byUrgency(a, b) {
  return (
    (b.overdue || 0) - (a.overdue || 0) ||
    (b.waiting_now || 0) - (a.waiting_now || 0) ||
    String(a.unit).localeCompare(String(b.unit))
  );
}

function unitCell(u, manyRegions) {
  return h(
    'th',
    { scope: 'row', title: u.unit },
    h('span', { class: 'name' }, prettyId(u.unit)),
    manyRegions ? h('span', { class: 'sub' }, prettyId(u.region)) : null,
  );
}

function row(ctx, u, manyRegions) {
  const open = () => ctx.openWorklist({ waiting_unit: u.unit, region: u.region });
  return h(
    'tr',
    {
      tabindex: 0,
      'data-testid': 'unit-row',
      'aria-label': t('units.open', { unit: prettyId(u.unit) }),
      data: {
        region: u.region,
        level: u.level,
        unit: u.unit,
        waiting: u.waiting_now,
        median: nullable(u.waiting_now_median_days),
        p90: nullable(u.waiting_now_p90_days),
        share: nullable(u.within_limit_share),
        overdue: u.overdue ?? 0,
        started: nullable(u.completed_90d),
      },
      onclick: open,
      onkeydown: (e) => rowKeys(e, open),
    },
    unitCell(u, manyRegions),
    h('td', {}, levelName(u.level)),
    h('td', { class: 'num' }, num(u.waiting_now)),
    h('td', { class: 'num' }, days(u.waiting_now_median_days)),
    h('td', { class: 'num' }, days(u.waiting_now_p90_days)),
    h('td', { class: 'num' }, pct(u.within_limit_share)),
    h('td', { class: `num ${u.overdue > 0 ? 'overdue' : ''}` }, num(u.overdue ?? 0)),
    h('td', { class: 'num wide' }, num(u.completed_90d)),
    h('td', { class: 'num wide' }, days(u.completed_median_days)),
  );
}

export default {
  id: 'units',
  el: null,
  data: null,
  gen: 0,

  init() {
    this.el = $('#sec-units');
  },

  // Not narrowed by unit: the same answer lists the units the filter offers.
  fetch(ctx) {
    return ctx.api.get('/v1/stats/waiting', ctx.params('region', 'level', 'as_of'));
  },

  render(ctx) {
    const all = (this.data && this.data.units) || [];
    const unit = ctx.state.filters.unit;
    const rows = all.filter((u) => !unit || u.unit === unit).sort(byUrgency);
    const manyRegions = new Set(all.map((u) => u.region)).size > 1;
    const table = $('#units-table');
    clear(table.tHead).append(
      headRow([
        [t('units.unit')],
        [t('units.level')],
        [t('units.waiting'), 'num'],
        [t('units.median'), 'num'],
        [t('units.p90'), 'num'],
        [t('units.share'), 'num'],
        [t('units.overdue'), 'num'],
        [t('units.started'), 'num wide'],
        [t('units.startedMedian'), 'num wide'],
      ]),
    );
    const body = clear(table.tBodies[0]);
    rows.forEach((u) => body.append(row(ctx, u, manyRegions)));
    if (this.data && rows.length === 0) {
      body.append(h('tr', { class: 'empty' }, h('td', { colspan: 9 }, t('units.empty'))));
    }
    if (this.data) ctx.unitsKnown(all);
  },
};
