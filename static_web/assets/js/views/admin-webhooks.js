// Admin: webhook endpoints (#/admin/webhooks) and one endpoint's delivery log
// (#/admin/webhooks/{id}). Create (the signing secret is shown once), pause and
// resume, delete; the log shows each delivery's attempts and can redeliver.

import {
  createWebhook, deleteWebhook, getWebhookDeliveries, getWebhooks, redeliverWebhook, setWebhookActive,
} from '../api.js';
import {
  alertRegion, busy, clearAlert, clearFieldErrors, field, formatDate, h, replace, showError, showOk, skeletonLines,
} from '../dom.js';
import { session } from '../session.js';
import { adminHead } from './admin-nav.js';

// The event catalogue (docs/webhooks.md; the server refuses any other name).
export const EVENT_TYPES = [
  'order.created', 'order.paid', 'order.fulfilled', 'order.cancelled', 'order.refunded',
  'product.created', 'product.updated', 'product.deleted', 'stock.low',
];

function endpointState(w) {
  if (w.active) return { key: 'active', text: 'Active' };
  if (w.disabledReason === 'paused by an admin') return { key: 'paused', text: 'Paused' };
  return { key: 'disabled', text: 'Disabled' };
}

function stateBadge(key, text, testid) {
  return h('span', { class: `status status-${key}`, testid, dataset: { state: key } }, text);
}

export async function render(main, ctx) {
  if (ctx.params.id) return renderLog(main, ctx, ctx.params.id);
  ctx.setTitle('Webhooks');
  const error = alertRegion('webhooks-error');
  const list = h('section', { class: 'panel', 'aria-labelledby': 'hooks-h', testid: 'webhook-list' },
    h('h2', { id: 'hooks-h' }, 'Endpoints'), h('div', { 'aria-busy': 'true' }, skeletonLines(4)));
  const create = h('section', { class: 'panel', 'aria-labelledby': 'new-hook-h' });
  replace(main, ...adminHead('Webhooks', 'webhooks'), error,
    h('p', { class: 'muted' }, 'The shop sends each event you subscribe to as a signed POST (Standard Webhooks), retrying until your server answers 2xx.'),
    h('div', { class: 'admin-grid' }, list, create));

  async function drawList(focusId = null) {
    let hooks;
    try {
      hooks = await getWebhooks();
    } catch (err) {
      if (!ctx.alive()) return;
      replace(list, h('h2', { id: 'hooks-h' }, 'Endpoints'));
      showError(error, err, { session });
      return;
    }
    if (!ctx.alive()) return;
    if (!hooks.length) {
      replace(list, h('h2', { id: 'hooks-h' }, 'Endpoints'),
        h('p', { class: 'notice', testid: 'no-webhooks' }, 'No endpoints yet. Add one to receive events.'));
      return;
    }
    replace(list, h('h2', { id: 'hooks-h' }, 'Endpoints'),
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Webhook endpoints (scrolls sideways)' },
        h('table', { class: 'admin-list', testid: 'webhook-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Endpoint'), h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
          h('tbody', null, hooks.map(row)))));
    if (focusId) {
      const r = list.querySelector(`[data-webhook-id="${CSS.escape(focusId)}"] a`);
      if (r) r.focus();
    }
  }

  function row(w) {
    const st = endpointState(w);
    const result = alertRegion('webhook-row-result');
    const toggle = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: w.active ? 'pause-webhook' : 'resume-webhook',
      'aria-label': `${w.active ? 'Pause' : 'Resume'} ${w.url}` }, w.active ? 'Pause' : 'Resume');
    toggle.addEventListener('click', async () => {
      clearAlert(result);
      try {
        await busy(toggle, () => setWebhookActive(w.id, !w.active));
        if (ctx.alive()) drawList(w.id);
      } catch (err) {
        if (ctx.alive()) showError(result, err, { session });
      }
    });
    const del = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'delete-webhook', 'aria-label': `Delete ${w.url}` }, 'Delete');
    const actions = h('div', { class: 'actions' },
      h('a', { class: 'btn btn-secondary btn-small', href: `#/admin/webhooks/${encodeURIComponent(w.id)}`, testid: 'webhook-log-link',
        'aria-label': `Delivery log of ${w.url}` }, 'Delivery log'),
      toggle, del);
    del.addEventListener('click', () => {
      // Asked in the page, not with confirm(): a dialog would block the page and its tests.
      const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', testid: 'confirm-delete-webhook' }, 'Delete for good');
      const no = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, 'Keep it');
      replace(actions, h('span', { role: 'status' }, 'Nothing more will be sent to it. '), yes, no);
      yes.focus();
      no.addEventListener('click', () => drawList(w.id));
      yes.addEventListener('click', async () => {
        try {
          await busy(yes, () => deleteWebhook(w.id));
          if (ctx.alive()) {
            await drawList();
            showOk(error, `Deleted ${w.url}.`);
          }
        } catch (err) {
          if (ctx.alive()) showError(result, err, { session });
        }
      });
    });
    return h('tr', { testid: 'webhook-row', dataset: { webhookId: w.id, active: String(w.active) } },
      h('td', null,
        h('div', null, h('a', { class: 'hook-url', href: `#/admin/webhooks/${encodeURIComponent(w.id)}` }, w.url)),
        h('ul', { class: 'tag-list', 'aria-label': 'Events' }, w.events.map((e) => h('li', { class: 'tag' }, e))),
        h('div', { class: 'muted' }, `Added ${formatDate(w.createdAt)}`)),
      h('td', null, stateBadge(st.key, st.text, 'webhook-state'),
        !w.active && w.disabledReason && st.key === 'disabled'
          ? h('div', { class: 'muted', testid: 'webhook-disabled-reason' }, w.disabledReason) : null),
      h('td', null, actions, result));
  }

  function drawCreate() {
    const result = alertRegion('create-webhook-result');
    const submit = h('button', { type: 'submit', class: 'btn', testid: 'create-webhook' }, 'Add endpoint');
    const boxes = EVENT_TYPES.map((e) => h('li', null, h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'events', value: e, testid: 'webhook-event', checked: e.startsWith('order.') }), e)));
    const form = h('form', { testid: 'webhook-form', novalidate: true },
      field({ label: 'Endpoint URL', name: 'url', type: 'url', testid: 'webhook-url',
        hint: 'https on a public host, e.g. https://erp.example/hooks/shop', attrs: { required: true, maxlength: 2048, autocomplete: 'off' } }),
      h('fieldset', { class: 'event-choices' }, h('legend', null, 'Events'), h('ul', null, boxes),
        h('span', { class: 'field-error', dataset: { errorFor: 'events' } })),
      submit, result);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(result);
      clearFieldErrors(form);
      const url = form.elements.url.value.trim();
      const events = [...form.querySelectorAll('input[name=events]:checked')].map((i) => i.value);
      const problems = [];
      if (!url) problems.push({ field: 'url', message: 'Enter the URL to send events to.' });
      if (!events.length) problems.push({ field: 'events', message: 'Choose at least one event.' });
      if (problems.length) {
        showError(result, { code: 'INVALID_ARGUMENT', message: 'check the highlighted fields', fieldErrors: problems }, { form });
        return;
      }
      try {
        const created = await busy(submit, () => createWebhook(url, events));
        if (!ctx.alive()) return;
        form.reset();
        showSecret(created); // takes focus: the list below redraws without moving it
        drawList();
      } catch (err) {
        if (ctx.alive()) showError(result, err, { form, session });
      }
    });
    replace(create, h('h2', { id: 'new-hook-h' }, 'Add an endpoint'), form);
  }

  /** The signing secret, this once: lists never show it again. */
  function showSecret(w) {
    const done = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, 'I have stored it');
    const box = h('div', { class: 'secret-box', role: 'status', tabindex: '-1', testid: 'webhook-secret-box' },
      h('strong', null, `Endpoint added: ${w.url}`),
      h('p', null, 'Its signing secret is shown only now. Store it where your receiver can verify signatures with it:'),
      h('code', { testid: 'webhook-secret' }, w.secret),
      done);
    done.addEventListener('click', () => { box.remove(); create.querySelector('input').focus(); });
    create.prepend(box);
    box.focus();
  }

  drawCreate();
  await drawList();
}

// ---------------------------------------------------------------- delivery log

function attemptLine(a) {
  const outcome = a.statusCode != null ? `HTTP ${a.statusCode}` : (a.error || 'no response');
  return h('li', { testid: 'webhook-attempt' },
    h('span', null, `${formatDate(a.attemptedAt)} · ${outcome} · ${a.durationMs} ms${a.manual ? ' · redelivered by hand' : ''}`),
    a.statusCode != null && a.error ? h('div', { class: 'muted' }, a.error) : null,
    a.responseExcerpt ? h('code', { class: 'excerpt' }, a.responseExcerpt) : null);
}

async function renderLog(main, ctx, id) {
  ctx.setTitle('Webhook deliveries');
  const error = alertRegion('deliveries-error');
  const body = h('section', { class: 'panel', 'aria-labelledby': 'log-h', testid: 'delivery-log' },
    h('h2', { id: 'log-h' }, 'Deliveries'), h('div', { 'aria-busy': 'true' }, skeletonLines(6)));
  const refresh = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'refresh-deliveries' }, 'Refresh');
  replace(main, ...adminHead('Webhook deliveries', 'webhooks'), error,
    h('p', null, h('a', { href: '#/admin/webhooks' }, '← All endpoints')), body);

  let endpoint = null;
  async function draw() {
    let deliveries;
    try {
      const [hooks, got] = await Promise.all([getWebhooks(), getWebhookDeliveries(id, 50)]);
      endpoint = hooks.find((w) => w.id === id) || null;
      deliveries = got;
    } catch (err) {
      if (!ctx.alive()) return;
      replace(body, h('h2', { id: 'log-h' }, 'Deliveries'));
      showError(error, err, { session });
      return;
    }
    if (!ctx.alive()) return;
    const st = endpoint ? endpointState(endpoint) : null;
    const head = [h('div', { class: 'page-head' }, h('h2', { id: 'log-h' }, 'Deliveries'), refresh),
      endpoint ? h('p', null, h('span', { class: 'hook-url', testid: 'log-endpoint-url' }, endpoint.url), ' ', stateBadge(st.key, st.text, 'webhook-state')) : null,
      h('p', { class: 'muted' }, 'The latest 50, newest first. A redelivery sends the same message again now (same webhook-id, new signature).')];
    if (!deliveries.length) {
      replace(body, ...head, h('p', { class: 'notice', testid: 'no-deliveries' }, 'Nothing has been sent to this endpoint yet.'));
      return;
    }
    replace(body, ...head,
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Deliveries (scrolls sideways)' },
        h('table', { class: 'admin-list', testid: 'delivery-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, 'Attempts'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
          h('tbody', null, deliveries.map(deliveryRow)))));
  }

  function deliveryRow(d) {
    const tr = h('tr', { testid: 'delivery-row', dataset: { deliveryId: d.id, state: d.state } });
    const fill = (x) => {
      tr.dataset.state = x.state;
      const result = alertRegion('redeliver-result');
      const again = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'redeliver',
        'aria-label': `Redeliver ${x.eventType} of ${formatDate(x.createdAt)}` }, 'Redeliver');
      again.addEventListener('click', async () => {
        clearAlert(result);
        try {
          const updated = await busy(again, () => redeliverWebhook(id, x.id));
          if (!ctx.alive()) return;
          fill(updated);
          const last = updated.attempts[0];
          const msg = tr.querySelector('[data-testid="redeliver-result"]');
          const ok = last && last.statusCode != null && last.statusCode >= 200 && last.statusCode < 300;
          if (ok) showOk(msg, `Delivered: HTTP ${last.statusCode}.`);
          else showError(msg, { code: 'FAILED_PRECONDITION', message: `Not delivered: ${last ? (last.statusCode != null ? `HTTP ${last.statusCode}` : last.error || 'no response') : 'no attempt'}` });
        } catch (err) {
          if (ctx.alive()) showError(result, err, { session });
        }
      });
      const last = x.attempts[0];
      replace(tr,
        h('td', null, h('strong', { class: 'mono' }, x.eventType), h('div', { class: 'muted' }, formatDate(x.createdAt))),
        h('td', null, stateBadge(x.state, x.state, 'delivery-state'),
          x.nextAttemptAt ? h('div', { class: 'muted' }, `Next try ${formatDate(x.nextAttemptAt)}`) : null),
        h('td', null,
          h('details', null, h('summary', { testid: 'attempt-count' }, `${x.attemptCount} ${x.attemptCount === 1 ? 'attempt' : 'attempts'}${last ? ` · last ${last.statusCode != null ? `HTTP ${last.statusCode}` : 'no response'}` : ''}`),
            x.attempts.length ? h('ul', { class: 'attempts' }, x.attempts.map(attemptLine)) : h('p', { class: 'muted' }, 'Not tried yet.'))),
        h('td', null, again, result));
    };
    fill(d);
    return tr;
  }

  refresh.addEventListener('click', () => busy(refresh, draw));
  await draw();
}
