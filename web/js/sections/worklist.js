// 7. The worklist: open pathways, oldest first, with GET /v1/pathways's
// filters and its cursor paging.

import { $, h, clear, fillSelect, headRow } from '../dom.js';
import { t, num, date, prettyId, levelName, modelName, ruleName, flagName } from '../i18n.js';

const PAGE = 25;
const PHASES = ['active', 'referred', 'assessing', 'waiting'];
const FLAGS = [
  'young_adult_at_risk',
  'trauma',
  'elderly',
  'mental_illness',
  'dependence',
  'interpreter_needed',
  'severe_headache',
  'orofacial_pain',
  'cancer_survivor',
];
const FIELDS = ['region', 'model', 'level', 'phase', 'waiting_unit', 'unit', 'flag', 'due_before'];
const CHECKS = ['overdue', 'incomplete'];

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function nextDeadline(p) {
  const list = (p.deadlines || []).filter((d) => d && d.due);
  list.sort((a, b) => a.due.localeCompare(b.due));
  return list[0] || null;
}

function deadlineCell(p) {
  const d = nextDeadline(p);
  if (!d) return h('td', {}, t('none'));
  const late = d.due < today();
  return h(
    'td',
    { class: late ? 'late' : null },
    h('span', { class: 'nowrap' }, date(d.due)),
    h('span', { class: 'sub' }, ruleName(d.rule), late ? ` · ${t('worklist.overdueMark')}` : ''),
  );
}

function referralCell(p) {
  const r = p.referral;
  if (!r || !r.to_unit) return h('td', {}, t('none'));
  const when = r.received_at
    ? t('worklist.received', { date: date(r.received_at) })
    : r.sent_at
      ? t('worklist.sent', { date: date(r.sent_at) })
      : '';
  return h('td', { title: r.to_unit }, prettyId(r.to_unit), h('span', { class: 'sub' }, `${levelName(r.to_level)}${when ? ` · ${when}` : ''}`));
}

function row(ctx, p) {
  return h(
    'tr',
    { 'data-testid': 'pathway-row', data: { pathwayId: p.pathway_id, patientId: p.patient_id, region: p.region, model: p.model, phase: p.phase } },
    h('th', { scope: 'row', class: 'mono' }, p.patient_id),
    h('td', {}, modelName(p.model, ctx.state.models), h('span', { class: 'sub' }, prettyId(p.region))),
    h('td', { title: p.unit }, prettyId(p.unit), h('span', { class: 'sub' }, levelName(p.level))),
    h('td', {}, t(`phase.${p.phase}`)),
    referralCell(p),
    deadlineCell(p),
    h('td', { class: 'wide' }, (p.flags || []).map(flagName).join(', ')),
    h('td', { class: 'nowrap wide' }, date(p.opened_at)),
  );
}

export default {
  id: 'worklist',
  el: null,
  data: null,
  gen: 0,
  cursors: [''],

  init(ctx) {
    this.el = $('#sec-worklist');
    this.fillControls(ctx);
    $('#worklist-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.firstPage(ctx);
    });
    $('#w-clear').addEventListener('click', () => {
      this.setFilters(ctx, {});
      this.firstPage(ctx);
    });
    $('#w-first').addEventListener('click', () => this.firstPage(ctx));
    $('#w-prev').addEventListener('click', () => {
      this.cursors.pop();
      ctx.refresh(this);
    });
    $('#w-next').addEventListener('click', () => {
      if (!this.data || !this.data.next_cursor) return;
      this.cursors.push(this.data.next_cursor);
      ctx.refresh(this);
    });
  },

  fillControls(ctx) {
    const all = t('filter.all');
    fillSelect($('#w-region'), [['', t('filter.allRegions')], ...ctx.regionOptions()]);
    fillSelect($('#w-model'), [['', all], ...ctx.state.models.map((m) => [m.key, modelName(m.key, ctx.state.models)])]);
    fillSelect($('#w-level'), [['', all], ...['gp', 'team', 'clinic', 'centre'].map((l) => [l, levelName(l)])]);
    fillSelect($('#w-phase'), [['', all], ...PHASES.map((p) => [p, t(`phase.${p}`)])]);
    fillSelect($('#w-flag'), [['', all], ...FLAGS.map((f) => [f, flagName(f)])]);
  },

  // Sets every filter of the form: those not in f are cleared.
  setFilters(ctx, f) {
    this.fillControls(ctx);
    const form = $('#worklist-form');
    for (const name of FIELDS) form.elements[name].value = f[name] || '';
    for (const name of CHECKS) form.elements[name].checked = Boolean(f[name]);
  },

  // The page's filters carried over; the worklist's own ones kept.
  followGlobals(ctx) {
    const form = $('#worklist-form');
    const g = ctx.state.filters;
    this.fillControls(ctx);
    form.elements.region.value = g.region;
    form.elements.model.value = g.model;
    form.elements.level.value = g.level;
    form.elements.waiting_unit.value = g.unit;
    this.cursors = [''];
  },

  firstPage(ctx) {
    this.cursors = [''];
    return ctx.refresh(this);
  },

  params() {
    const form = $('#worklist-form');
    const params = { limit: PAGE, cursor: this.cursors[this.cursors.length - 1] };
    for (const name of FIELDS) params[name] = form.elements[name].value.trim();
    for (const name of CHECKS) params[name] = form.elements[name].checked ? 'true' : '';
    return params;
  },

  fetch(ctx) {
    return ctx.api.get('/v1/pathways', this.params());
  },

  render(ctx) {
    const items = (this.data && this.data.items) || [];
    const table = $('#worklist-table');
    clear(table.tHead).append(
      headRow([
        [t('worklist.patient')],
        [t('worklist.model')],
        [t('worklist.where')],
        [t('worklist.phase')],
        [t('worklist.referral')],
        [t('worklist.next')],
        [t('worklist.flags'), 'wide'],
        [t('worklist.opened'), 'wide'],
      ]),
    );
    const body = clear(table.tBodies[0]);
    items.forEach((p) => body.append(row(ctx, p)));
    if (this.data && items.length === 0) body.append(h('tr', { class: 'empty' }, h('td', { colspan: 8 }, t('worklist.empty'))));
    this.renderPager(items.length);
  },

  renderPager(count) {
    const page = this.cursors.length;
    $('#w-first').disabled = page <= 1;
    $('#w-prev').disabled = page <= 1;
    $('#w-next').disabled = !(this.data && this.data.next_cursor);
    const label = $('#w-page');
    label.textContent = this.data ? `${t('worklist.page', { n: num(page) })} · ${t('worklist.rows', { n: num(count) })}` : '';
    label.dataset.page = page;
    label.dataset.rows = count;
  },
};
