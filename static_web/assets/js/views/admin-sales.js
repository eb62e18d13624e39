// Admin: sales dashboard (#/admin/sales?days=30) and all orders
// (#/admin/orders?status=&page=). The chart is an SVG drawn with DOM calls
// (the CSP allows no inline styles), with the same numbers in a table beside
// it for screen readers and for anyone who prefers numbers.

import { fulfilOrder, getAdminOrder, getAllOrders, getCustomers, getSalesReport, newIdempotencyKey, refundOrder } from '../api.js';
import {
  alertRegion, busy, clearAlert, clearFieldErrors, field, formatDate, h, replace, showError, showOk, skeletonLines,
} from '../dom.js';
import { formatMoney, minorToInput, parseMajor } from '../money.js';
import { session } from '../session.js';
import { pager, statusBadge } from './components.js';
import { adminHead } from './admin-nav.js';
import { addressBlock, orderSums, orderTimeline } from './order-parts.js';

const PERIODS = [7, 30, 90];
const STATUSES = ['awaiting_payment', 'paid', 'fulfilled', 'partially_refunded', 'refunded', 'cancelled'];
const REFUNDABLE = new Set(['paid', 'fulfilled', 'partially_refunded']);
const label = (st) => st[0].toUpperCase() + st.slice(1).replace(/_/g, ' ');
const SVG = 'http://www.w3.org/2000/svg';

function itemCount(items) {
  const n = items.reduce((sum, i) => sum + i.qty, 0);
  return `${n} ${n === 1 ? 'item' : 'items'}`;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

function shortDate(iso) {
  const d = new Date(`${iso}T00:00:00Z`);
  return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
}

/** Revenue per day as bars, orders per day as the bars' titles; labelled by the heading and the table. */
function chart(series, titleId) {
  const W = 720;
  const H = 220;
  const pad = { l: 8, r: 8, t: 12, b: 28 };
  const max = Math.max(1, ...series.days.map((d) => d.revenueMinor));
  const n = series.days.length;
  const step = (W - pad.l - pad.r) / n;
  const bar = Math.max(2, step * 0.7);
  const bars = series.days.map((d, i) => {
    const hgt = d.revenueMinor === 0 ? 0 : Math.max(2, (d.revenueMinor / max) * (H - pad.t - pad.b));
    const x = pad.l + i * step + (step - bar) / 2;
    return svg('rect', { x: x.toFixed(1), y: (H - pad.b - hgt).toFixed(1), width: bar.toFixed(1), height: hgt.toFixed(1),
      rx: 2, class: 'chart-bar', 'data-date': d.date },
    svg('title', null, document.createTextNode(`${shortDate(d.date)}: ${formatMoney(d.revenueMinor, series.currency)}, ${d.orders} ${d.orders === 1 ? 'order' : 'orders'}`)));
  });
  const every = Math.ceil(n / 8);
  const labels = series.days.map((d, i) => (i % every === 0 || i === n - 1
    ? svg('text', { x: (pad.l + i * step + step / 2).toFixed(1), y: H - 8, class: 'chart-label', 'text-anchor': 'middle' },
      document.createTextNode(shortDate(d.date))) : null));
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': titleId, 'data-testid': 'sales-chart', focusable: 'false' },
    svg('line', { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b, class: 'chart-axis' }), ...bars, ...labels);
}

function salesTable(series) {
  return h('details', { class: 'chart-data' }, h('summary', null, 'The numbers, day by day'),
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `${series.currency} sales per day` },
      h('table', { testid: 'sales-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col', class: 'num' }, 'Orders'),
          h('th', { scope: 'col', class: 'num' }, 'Revenue'))),
        h('tbody', null, [...series.days].reverse().map((d) => h('tr', { testid: 'sales-day', dataset: { date: d.date, orders: String(d.orders), revenueMinor: String(d.revenueMinor) } },
          h('td', null, shortDate(d.date)), h('td', { class: 'num' }, String(d.orders)),
          h('td', { class: 'num' }, formatMoney(d.revenueMinor, series.currency))))))));
}

export async function render(main, ctx) {
  if (ctx.params.section === 'orders' && ctx.params.id) return renderOrder(main, ctx, ctx.params.id);
  if (ctx.params.section === 'orders') return renderOrders(main, ctx);
  if (ctx.params.section === 'customers') return renderCustomers(main, ctx);
  ctx.setTitle('Sales');
  const days = PERIODS.includes(Number(ctx.query.get('days'))) ? Number(ctx.query.get('days')) : 30;
  const error = alertRegion('sales-error');
  const body = h('div', { 'aria-busy': 'true' }, h('div', { class: 'panel' }, skeletonLines(8)));
  const periods = h('nav', { class: 'tabs', 'aria-label': 'Period', testid: 'sales-periods' },
    PERIODS.map((d) => h('a', { class: 'btn btn-secondary btn-small', href: ctx.hashFor('/admin/sales', { days: d === 30 ? null : d }),
      'aria-current': d === days ? 'page' : null, testid: 'sales-period' }, `Last ${d} days`)));
  replace(main, ...adminHead('Sales', 'sales'), error, periods, body);
  let report;
  try {
    report = await getSalesReport(days);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(body);
    body.removeAttribute('aria-busy');
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  body.removeAttribute('aria-busy');
  if (!report.currencies.length) {
    replace(body, h('p', { class: 'notice', testid: 'no-sales' }, `No paid orders in the last ${days} days.`));
    return;
  }
  replace(body, report.currencies.map((s) => {
    const titleId = `sales-${s.currency}`;
    return h('section', { class: 'panel', 'aria-labelledby': titleId, testid: 'sales-series', dataset: { currency: s.currency } },
      h('h2', { id: titleId }, `${s.currency}: revenue per day since ${shortDate(report.since)}`),
      h('dl', { class: 'kpis' },
        h('div', null, h('dt', null, 'Revenue'), h('dd', { testid: 'sales-revenue', dataset: { minor: String(s.revenueMinor) } }, formatMoney(s.revenueMinor, s.currency))),
        h('div', null, h('dt', null, 'Paid orders'), h('dd', { testid: 'sales-orders' }, String(s.orders))),
        h('div', null, h('dt', null, 'Average order'), h('dd', null, s.orders ? formatMoney(Math.round(s.revenueMinor / s.orders), s.currency) : '–'))),
      chart(s, titleId),
      salesTable(s));
  }),
  h('p', { class: 'muted' }, 'Paid orders by the day they were paid (UTC), cancelled and refunded ones left out. Each currency on its own: they are never added up.'));
}

// ---------------------------------------------------------------- all orders

async function renderOrders(main, ctx) {
  ctx.setTitle('All orders');
  const status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : null;
  const email = (ctx.query.get('email') || '').trim().slice(0, 254) || null;
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') || '1', 10) || 1);
  const error = alertRegion('admin-orders-error');
  const filter = h('nav', { class: 'tabs', 'aria-label': 'Order status', testid: 'order-status-filter' },
    [null, ...STATUSES].map((s) => h('a', { class: 'btn btn-secondary btn-small', href: ctx.hashFor('/admin/orders', { status: s, email }),
      'aria-current': s === status ? 'page' : null, testid: 'order-status-option', dataset: { status: s || 'all' } }, s ? label(s) : 'All')));
  const search = h('form', { class: 'inline-form toolbar threshold-form', role: 'search', testid: 'order-email-search' },
    field({ label: 'Customer email', name: 'email', type: 'email', value: email || '', testid: 'order-email', attrs: { maxlength: 254 } }),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Find'));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(ctx.hashFor('/admin/orders', { status, email: search.elements.email.value.trim() }));
  });
  const box = h('section', { class: 'panel', 'aria-labelledby': 'all-orders-h', testid: 'admin-orders' },
    h('h2', { id: 'all-orders-h' }, 'Orders'), h('div', { 'aria-busy': 'true' }, skeletonLines(8)));
  replace(main, ...adminHead('Orders', 'orders'), error, search, filter, box);
  let res;
  try {
    res = await getAllOrders({ page, pageSize: 20, status, email });
  } catch (err) {
    if (!ctx.alive()) return;
    replace(box, h('h2', { id: 'all-orders-h' }, 'Orders'));
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  const heading = h('h2', { id: 'all-orders-h' }, `${res.total} ${status ? `${status} ` : ''}${res.total === 1 ? 'order' : 'orders'}`);
  if (!res.items.length) {
    replace(box, heading, h('p', { class: 'notice', testid: 'no-admin-orders' }, 'No orders here.'));
    return;
  }
  const rows = res.items.map((o) => h('tr', { testid: 'admin-order-row', dataset: { orderId: o.id, status: o.status } },
    h('td', null, h('a', { class: 'mono', href: `#/admin/orders/${encodeURIComponent(o.id)}`, testid: 'admin-order-link',
      'aria-label': `Order ${String(o.id).slice(0, 8).toUpperCase()}` }, h('strong', null, String(o.id).slice(0, 8).toUpperCase())),
      h('div', { class: 'muted' }, formatDate(o.createdAt)),
      h('div', { class: 'muted' }, o.email || `Customer ${String(o.userId).slice(0, 12)}`)),
    h('td', null, statusBadge(o.status),
      h('div', { class: 'muted' }, o.paymentMethod === 'card' && o.cardLast4 ? `Card ending ${o.cardLast4}` : o.paymentMethod)),
    h('td', null, h('details', null, h('summary', null, itemCount(o.items)),
      h('ul', null, o.items.map((i) => h('li', null, `${i.qty} × ${i.name} (${formatMoney(i.unitPriceMinor, i.currency)})`))))),
    h('td', { class: 'num', dataset: { label: 'Total' } }, formatMoney(o.totalMinor, o.currency))));
  const table = h('table', { class: 'admin-list', testid: 'admin-order-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Order'), h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Items'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
    h('tbody', null, rows));
  replace(box, heading,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Orders (scrolls sideways)' }, table),
    pager(res, (p) => ctx.hashFor('/admin/orders', { status, email, page: p })));
}

// ---------------------------------------------------------------- one order: fulfil, refund

async function renderOrder(main, ctx, id) {
  ctx.setTitle('Order');
  const error = alertRegion('admin-order-error');
  const body = h('div', { 'aria-busy': 'true' }, h('div', { class: 'panel' }, skeletonLines(8)));
  replace(main, ...adminHead('Order', 'orders'), h('p', null, h('a', { href: '#/admin/orders' }, '← All orders')), error, body);
  let o;
  try {
    o = await getAdminOrder(id);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(body);
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  body.removeAttribute('aria-busy');
  if (!o) {
    replace(body, h('p', { class: 'notice', testid: 'admin-order-not-found' }, 'No such order.'));
    return;
  }
  let fulfilKey = newIdempotencyKey();
  let refundKey = newIdempotencyKey();

  const draw = (order, note) => {
    o = order;
    const result = alertRegion('admin-order-result');
    const items = h('ul', { class: 'summary-lines' }, o.items.map((i) => h('li', { class: 'summary-line', testid: 'admin-order-item' },
      h('span', null, `${i.qty} × ${i.name}`), h('span', null, formatMoney(i.lineTotalMinor ?? i.unitPriceMinor * i.qty, i.currency)))));
    const sections = [
      h('section', { class: 'panel', 'aria-labelledby': 'ord-h', testid: 'admin-order-detail', dataset: { orderId: o.id, status: o.status } },
        h('h2', { id: 'ord-h' }, `Order ${String(o.id).slice(0, 8).toUpperCase()} `, statusBadge(o.status)),
        h('dl', { class: 'kv' },
          h('dt', null, 'Customer'), h('dd', { testid: 'admin-order-email' }, o.email || o.userId),
          h('dt', null, 'Placed'), h('dd', null, formatDate(o.createdAt)),
          h('dt', null, 'Payment'), h('dd', null, o.paymentMethod === 'card' && o.cardLast4 ? `Card ending ${o.cardLast4}` : o.paymentMethod)),
        items, orderSums(o),
        o.shippingAddress ? [h('h3', null, 'Ship to'), addressBlock(o.shippingAddress)] : null,
        h('h3', null, 'History'), orderTimeline(o)),
    ];
    const actions = h('section', { class: 'panel', 'aria-labelledby': 'act-h', testid: 'admin-order-actions' }, h('h2', { id: 'act-h' }, 'Actions'), result);
    if (o.status === 'paid') actions.append(fulfilForm());
    if (REFUNDABLE.has(o.status) && o.totalMinor - (o.refundedMinor || 0) > 0) actions.append(refundForm());
    if (actions.childElementCount === 2) actions.append(h('p', { class: 'muted' }, 'Nothing to do for this order.'));
    replace(body, h('div', { class: 'admin-grid' }, sections, actions));
    if (note) showOk(result, note);
  };

  function fulfilForm() {
    const submit = h('button', { type: 'submit', class: 'btn', testid: 'fulfil-submit' }, 'Mark as shipped');
    const res = alertRegion('fulfil-result');
    const form = h('form', { testid: 'fulfil-form', novalidate: true }, h('h3', null, 'Ship'),
      field({ label: 'Carrier', name: 'carrier', testid: 'fulfil-carrier', attrs: { required: true, maxlength: 100 } }),
      field({ label: 'Tracking number', name: 'trackingNumber', testid: 'fulfil-tracking', hint: 'Letters, digits, spaces and . _ / -',
        attrs: { required: true, maxlength: 100, autocomplete: 'off' } }),
      submit, res);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(res);
      clearFieldErrors(form);
      const carrier = form.elements.carrier.value.trim();
      const tracking = form.elements.trackingNumber.value.trim();
      const problems = [];
      if (!carrier) problems.push({ field: 'carrier', message: 'Enter the carrier.' });
      if (!tracking) problems.push({ field: 'trackingNumber', message: 'Enter the tracking number.' });
      if (problems.length) {
        showError(res, { code: 'INVALID_ARGUMENT', message: 'check the highlighted fields', fieldErrors: problems }, { form });
        return;
      }
      try {
        const updated = await busy(submit, () => fulfilOrder(o.id, carrier, tracking, fulfilKey));
        fulfilKey = newIdempotencyKey();
        if (ctx.alive()) draw(updated, `Shipped with ${carrier}: the customer sees the tracking number.`);
      } catch (err) {
        if (err.code !== 'NETWORK') fulfilKey = newIdempotencyKey();
        if (ctx.alive()) showError(res, err, { form, session });
      }
    });
    return form;
  }

  function refundForm() {
    const left = o.totalMinor - (o.refundedMinor || 0);
    const submit = h('button', { type: 'submit', class: 'btn btn-danger', testid: 'refund-submit' }, 'Refund');
    const res = alertRegion('refund-result');
    const form = h('form', { testid: 'refund-form', novalidate: true }, h('h3', null, 'Refund'),
      h('p', { class: 'muted' }, `Up to ${formatMoney(left, o.currency)}, back to the original payment method.`),
      field({ label: `Amount (${o.currency})`, name: 'amount', testid: 'refund-amount', value: minorToInput(left, o.currency),
        attrs: { inputmode: 'decimal', required: true, maxlength: 20 } }),
      field({ label: 'Reason (optional)', name: 'reason', testid: 'refund-reason', attrs: { maxlength: 500 } }),
      submit, res);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(res);
      clearFieldErrors(form);
      const amount = parseMajor(form.elements.amount.value, o.currency);
      let problem = amount.ok ? null : amount.message;
      if (!problem && amount.minor > left) problem = `At most ${formatMoney(left, o.currency)} is left to refund.`;
      if (problem) {
        showError(res, { code: 'INVALID_ARGUMENT', message: 'check the amount', fieldErrors: [{ field: 'amount', message: problem }] }, { form });
        return;
      }
      try {
        const updated = await busy(submit, () => refundOrder(o.id, amount.minor, form.elements.reason.value.trim(), refundKey));
        refundKey = newIdempotencyKey();
        if (ctx.alive()) draw(updated, `Refunded ${formatMoney(amount.minor, o.currency)}.`);
      } catch (err) {
        if (err.code !== 'NETWORK') refundKey = newIdempotencyKey();
        if (ctx.alive()) showError(res, err, { form, session, aliases: { amountMinor: 'amount' } });
      }
    });
    return form;
  }

  draw(o);
}

// ---------------------------------------------------------------- customers

async function renderCustomers(main, ctx) {
  ctx.setTitle('Customers');
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') || '1', 10) || 1);
  const error = alertRegion('customers-error');
  const box = h('section', { class: 'panel', 'aria-labelledby': 'cust-h', testid: 'customers' },
    h('h2', { id: 'cust-h' }, 'Customers'), h('div', { 'aria-busy': 'true' }, skeletonLines(6)));
  replace(main, ...adminHead('Customers', 'customers'), error, box);
  let res;
  try {
    res = await getCustomers(page, 20);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(box, h('h2', { id: 'cust-h' }, 'Customers'));
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  const heading = h('h2', { id: 'cust-h' }, `${res.total} ${res.total === 1 ? 'customer' : 'customers'} with a paid order`);
  if (!res.items.length) {
    replace(box, heading, h('p', { class: 'notice' }, 'No customers yet.'));
    return;
  }
  const rows = res.items.map((c) => h('tr', { testid: 'customer-row', dataset: { userId: c.userId } },
    h('td', null, c.email ? h('a', { href: ctx.hashFor('/admin/orders', { email: c.email }) }, c.email) : h('span', { class: 'muted mono' }, c.userId)),
    h('td', { class: 'num', dataset: { label: 'Orders' } }, String(c.orderCount)),
    h('td', { class: 'num', dataset: { label: 'Spent' } }, c.totals.map((t) => formatMoney(t.amountMinor, t.currency)).join(', ')),
    h('td', null, formatDate(c.lastOrderAt))));
  replace(box, heading,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Customers (scrolls sideways)' },
      h('table', { class: 'admin-list', testid: 'customer-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Customer'), h('th', { scope: 'col', class: 'num' }, 'Paid orders'),
          h('th', { scope: 'col', class: 'num' }, 'Spent, net of refunds'), h('th', { scope: 'col' }, 'Last order'))),
        h('tbody', null, rows))),
    pager(res, (p) => ctx.hashFor('/admin/customers', { page: p })));
}
