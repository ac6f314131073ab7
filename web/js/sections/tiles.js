// 1. Within the legal limit: one tile per model and rule with clocks.

import { $, h, clear } from '../dom.js';
import { t, num, pct, modelName, ruleTitle } from '../i18n.js';
import { countryOf, nullable } from '../common.js';

const MODEL_ORDER = ['no', 'dk', 'se-adult', 'se-child'];
const RULE_ORDER = ['assessment', 'free_choice', 'treatment', 'transit', 'level_review'];

function rank(list, value) {
  const i = list.indexOf(value);
  return i < 0 ? list.length : i;
}

export function sortRules(rules) {
  return [...rules].sort(
    (a, b) =>
      rank(MODEL_ORDER, a.model) - rank(MODEL_ORDER, b.model) ||
      String(a.model).localeCompare(String(b.model)) ||
      rank(RULE_ORDER, a.rule) - rank(RULE_ORDER, b.rule),
  );
}

// Good from 90 %, a warning from 75 %: a coordinator's eye, not a law.
function tone(r) {
  if (!r.running || r.within_limit_share === null) return 'none';
  if (r.within_limit_share >= 0.9) return 'good';
  return r.within_limit_share >= 0.75 ? 'warn' : 'bad';
}

function shareBar(share) {
  const fill = h('span');
  fill.style.width = `${Math.round((share || 0) * 1000) / 10}%`;
  return h('div', { class: 'bar', 'aria-hidden': 'true' }, fill);
}

function counts(r) {
  return h(
    'p',
    { class: 'tile-counts' },
    h('strong', { class: r.overdue > 0 ? 'overdue' : null, 'data-testid': 'tile-overdue' }, t('tile.overdue', { n: num(r.overdue) })),
    ' ',
    h('span', { 'data-testid': 'tile-running' }, t('tile.running', { n: num(r.running) })),
    r.paused ? h('span', { class: 'muted' }, ` · ${t('tile.paused', { n: num(r.paused) })}`) : null,
  );
}

function tile(ctx, r, index) {
  const id = `tile-h-${index}`;
  const models = ctx.state.models;
  return h(
    'article',
    {
      class: `tile ${tone(r)}`,
      'aria-labelledby': id,
      'data-testid': 'tile',
      data: {
        model: r.model,
        rule: r.rule,
        running: r.running,
        overdue: r.overdue,
        paused: r.paused ?? 0,
        share: nullable(r.within_limit_share),
        limitUnit: r.limit ? r.limit.unit : null,
        limitN: r.limit ? r.limit.n : null,
      },
    },
    h('p', { class: 'tile-model' }, modelName(r.model, models)),
    h('h3', { id }, ruleTitle(countryOf(models, r.model), r.rule, r.limit)),
    h(
      'p',
      { class: 'tile-share' },
      h('span', { class: 'big', 'data-testid': 'tile-share' }, r.running ? pct(r.within_limit_share) : t('tile.noneRunning')),
      r.running ? h('span', { class: 'label' }, ` ${t('tile.withinLabel')}`) : null,
    ),
    shareBar(r.within_limit_share),
    counts(r),
    r.overdue > 0
      ? h('button', { type: 'button', class: 'link', onclick: () => ctx.openWorklist({ model: r.model, overdue: true }) }, t('tile.showOverdue'))
      : null,
  );
}

export default {
  id: 'tiles',
  el: null,
  data: null,
  gen: 0,

  init() {
    this.el = $('#sec-tiles');
  },

  fetch(ctx) {
    return ctx.api.get('/v1/stats/clocks', ctx.params('region', 'level', 'unit', 'model', 'as_of'));
  },

  render(ctx) {
    const box = clear($('#tiles'));
    const rules = this.data ? sortRules(this.data.rules || []) : [];
    ctx.showAsOf(this.data ? this.data.as_of : null, this.data ? this.data.snapshot_at : null);
    if (this.data && rules.length === 0) box.append(h('p', { class: 'empty' }, t('tiles.empty')));
    rules.forEach((r, i) => box.append(tile(ctx, r, i)));
    ctx.rulesKnown(rules);
  },
};
