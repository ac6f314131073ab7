// 5. The next 7 and 14 days: deadlines about to pass, and for those in a
// night's report an acknowledgement recorded under the coordinator's token.

import { $, h, clear, fillSelect, headRow } from '../dom.js';
import { t, num, date, dateTime, prettyId, levelName, modelName, ruleName } from '../i18n.js';
import { formatError, setStatus } from '../common.js';

const RULES = ['transit', 'assessment', 'free_choice', 'treatment', 'level_review'];

function daysLeft(n) {
  if (n === null || n === undefined) return h('span', {}, t('none'));
  if (n < 0) return h('span', { class: 'late' }, t('deadlines.late', { n: num(-n) }));
  if (n === 0) return h('span', { class: 'soon' }, t('deadlines.today'));
  return h('span', { class: n <= 2 ? 'soon' : null }, t('deadlines.inDays', { n: num(n) }));
}

function ackStatus(a) {
  return h(
    'span',
    { class: 'acked', tabindex: -1, 'data-testid': 'ack-status', data: { by: a.by } },
    h('span', { class: 'tick', 'aria-hidden': 'true' }, '✓ '),
    t('ack.done', { by: a.by, at: dateTime(a.at) }),
    a.note ? h('span', { class: 'ack-note' }, `“${a.note}”`) : null,
  );
}

export default {
  id: 'deadlines',
  el: null,
  data: null,
  gen: 0,
  pending: null,

  init(ctx) {
    this.el = $('#sec-deadlines');
    for (const radio of this.el.querySelectorAll('input[name=within]')) {
      radio.addEventListener('change', () => ctx.refresh(this));
    }
    $('#deadline-rule').addEventListener('change', () => ctx.refresh(this));
    $('#ack-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.acknowledge(ctx);
    });
    $('#ack-cancel').addEventListener('click', () => this.closeDialog());
    $('#ack-dialog').addEventListener('close', () => this.restoreFocus());
    this.fillControls();
  },

  fillControls() {
    $('#within-7-label').textContent = t('unit.days', { n: 7 });
    $('#within-14-label').textContent = t('unit.days', { n: 14 });
    fillSelect($('#deadline-rule'), [['', t('filter.all')], ...RULES.map((r) => [r, ruleName(r)])]);
  },

  within() {
    return this.el.querySelector('input[name=within]:checked').value;
  },

  fetch(ctx) {
    this.el.dataset.within = this.within();
    return ctx.api.get('/v1/deadlines', {
      within_days: this.within(),
      ...ctx.params('region', 'level', 'unit'),
      rule: $('#deadline-rule').value,
    });
  },

  // The contract has no model filter here: the page applies the model.
  items(ctx) {
    const model = ctx.state.filters.model;
    return ((this.data && this.data.items) || []).filter((i) => !model || i.model === model);
  },

  render(ctx) {
    this.fillControls();
    const items = this.items(ctx);
    $('#deadlines-count').textContent = this.data ? t('deadlines.count', { n: num(items.length) }) : '';
    const table = $('#deadlines-table');
    clear(table.tHead).append(
      headRow([
        [t('deadlines.due')],
        [t('deadlines.left')],
        [t('deadlines.patient')],
        [t('deadlines.rule')],
        [t('deadlines.where'), 'wide'],
        [t('deadlines.unit')],
        [t('deadlines.status')],
      ]),
    );
    const body = clear(table.tBodies[0]);
    items.forEach((item) => body.append(this.row(ctx, item)));
    if (this.data && items.length === 0) {
      body.append(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, t('deadlines.empty', { n: this.within() }))));
    }
  },

  row(ctx, item) {
    return h(
      'tr',
      {
        'data-testid': 'deadline-row',
        class: item.days_left < 0 ? 'is-late' : null,
        data: {
          pathwayId: item.pathway_id,
          patientId: item.patient_id,
          escalationId: item.escalation_id ?? '',
          model: item.model,
          region: item.region,
          rule: item.rule,
          due: item.due,
          daysLeft: item.days_left,
          acknowledged: item.acknowledged ? 'true' : 'false',
        },
      },
      h('td', { class: 'nowrap' }, date(item.due, true)),
      h('td', { class: 'nowrap' }, daysLeft(item.days_left)),
      h('th', { scope: 'row', class: 'mono' }, item.patient_id),
      h('td', {}, ruleName(item.rule), h('span', { class: 'sub' }, modelName(item.model, ctx.state.models))),
      h('td', { class: 'wide' }, prettyId(item.region), h('span', { class: 'sub' }, levelName(item.level))),
      h('td', { title: item.responsible_unit }, prettyId(item.responsible_unit)),
      h('td', { class: 'ack' }, this.ackCell(item)),
    );
  },

  ackCell(item) {
    if (item.acknowledged) return ackStatus(item.acknowledged);
    if (item.escalation_id === null || item.escalation_id === undefined) {
      return h('span', { class: 'muted' }, t('deadlines.notReported'));
    }
    return h(
      'button',
      {
        type: 'button',
        class: 'small',
        'data-testid': 'ack-button',
        'aria-label': t('ack.buttonFor', { patient: item.patient_id }),
        onclick: (e) => this.openDialog(item, e.currentTarget),
      },
      t('ack.button'),
    );
  },

  openDialog(item, button) {
    this.pending = { item, button };
    $('#ack-title').textContent = t('ack.title', { patient: item.patient_id });
    $('#ack-what').textContent = [
      `${ruleName(item.rule)} (${modelName(item.model, [])})`,
      `${t('deadlines.due')}: ${date(item.due, true)}`,
      prettyId(item.responsible_unit),
    ].join(' · ');
    $('#ack-note').value = '';
    $('#ack-error').textContent = '';
    $('#ack-confirm').disabled = false;
    $('#ack-dialog').showModal();
    $('#ack-note').focus();
  },

  closeDialog() {
    $('#ack-dialog').close();
  },

  restoreFocus() {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    const row = this.el.querySelector(`tr[data-escalation-id="${CSS.escape(String(p.item.escalation_id))}"]`);
    const target = row && (row.querySelector('[data-testid=ack-status]') || row.querySelector('button'));
    if (target) target.focus();
  },

  async acknowledge(ctx) {
    const { item } = this.pending || {};
    if (!item) return;
    const note = $('#ack-note').value.trim();
    $('#ack-confirm').disabled = true;
    $('#ack-error').textContent = t('ack.saving');
    try {
      const answer = await ctx.api.post(`/v1/escalations/${encodeURIComponent(item.escalation_id)}/ack`, note ? { note } : {});
      item.acknowledged = answer.acknowledged || (answer.item && answer.item.acknowledged) || null;
      this.render(ctx);
      setStatus(this.el, 'info', t('ack.saved'));
      this.closeDialog();
      if (!item.acknowledged) ctx.refresh(this);
    } catch (e) {
      $('#ack-confirm').disabled = false;
      if (e.status === 401) {
        this.closeDialog();
        ctx.unauthorized();
        return;
      }
      $('#ack-error').textContent = formatError(e);
    }
  },
};
