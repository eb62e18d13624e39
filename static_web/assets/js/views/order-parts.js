// Pieces of an order shared by the shopper's order page and the admin's order
// detail: the money lines (subtotal, shipping, tax, refunds, total), the
// shipping address, and the status timeline with tracking.

import { formatDate, h } from '../dom.js';
import { formatMoney } from '../money.js';

/** A tax line's label: included taxes are said so (the prices already hold them). */
function taxLabel(inclusive, rate) {
  const pct = rate && rate !== '0' ? ` ${rate}%` : '';
  return inclusive ? `incl. tax${pct}` : `Tax${pct}`;
}

/** The checkout quote (what will be charged): items, shipping, tax ("incl. tax" where prices include it), total. */
export function quoteSums(q) {
  const m = (v) => formatMoney(v, q.currency);
  const line = (label, value, testid) => h('li', { class: 'summary-line', testid }, h('span', null, label), h('span', null, value));
  const inclusive = q.taxInclusive;
  return h('div', { testid: 'quote-sums' },
    h('ul', { class: 'summary-lines' },
      line(inclusive ? 'Items (before tax)' : 'Items', m(q.subtotalMinor), 'quote-subtotal'),
      line(`Shipping${q.shippingMethod ? ` (${q.shippingMethod.name})` : ''}${inclusive ? ' (before tax)' : ''}`,
        q.shippingMinor ? m(q.shippingMinor) : 'Free', 'quote-shipping'),
      q.taxMinor ? line(taxLabel(inclusive, q.taxRate), m(q.taxMinor), 'quote-tax') : null,
      line('Total to pay', h('strong', null, m(q.totalMinor)), 'quote-total')),
    inclusive ? h('p', { class: 'muted quote-note', testid: 'quote-incl-tax' }, `Prices include ${q.taxRate}% tax.`) : null);
}

export function orderSums(o, { taxInclusive = false, taxRate = '' } = {}) {
  const m = (v) => formatMoney(v, o.currency);
  const line = (label, value, testid) => h('li', { class: 'summary-line', testid }, h('span', null, label), h('span', null, value));
  return h('ul', { class: 'summary-lines', testid: 'order-sums' },
    o.subtotalMinor != null ? line('Items', m(o.subtotalMinor), 'order-subtotal') : null,
    o.shippingMinor ? line(`Shipping${o.shippingMethod ? ` (${o.shippingMethod.name})` : ''}`, m(o.shippingMinor), 'order-shipping') : null,
    o.taxMinor ? line(taxLabel(taxInclusive, taxRate), m(o.taxMinor), 'order-tax') : null,
    line('Total', h('strong', null, m(o.totalMinor)), 'order-sum-total'),
    o.refundedMinor ? line('Refunded', `− ${m(o.refundedMinor)}`, 'order-refunded') : null);
}

export function addressBlock(a) {
  if (!a) return null;
  return h('address', { class: 'address', testid: 'order-address' },
    [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(' '), a.region, a.country]
      .filter(Boolean).map((t) => h('div', null, t)));
}

/** What happened to the order, oldest first: placed, paid, each shipment (with tracking), refunds, cancellation. */
export function orderTimeline(o) {
  const events = [{ at: o.createdAt, text: 'Order placed', key: 'placed' }];
  if (o.paidAt) events.push({ at: o.paidAt, text: 'Payment received', key: 'paid' });
  for (const f of o.fulfillments || []) {
    events.push({ at: f.createdAt, key: 'fulfilled', text: `Shipped with ${f.carrier}`,
      extra: h('span', null, ' · tracking number ', h('strong', { class: 'mono', testid: 'tracking-number' }, f.trackingNumber)) });
  }
  for (const r of o.refunds || []) {
    events.push({ at: r.createdAt, key: 'refunded', text: `Refunded ${formatMoney(r.amountMinor, r.currency)}`,
      extra: r.reason ? h('span', { class: 'muted' }, ` · ${r.reason}`) : null });
  }
  if (o.cancelledAt) events.push({ at: o.cancelledAt, text: o.cancelReason === 'PAYMENT_EXPIRED' ? 'Cancelled: payment not completed in time' : 'Cancelled', key: 'cancelled' });
  events.sort((a, b) => String(a.at).localeCompare(String(b.at)));
  return h('ol', { class: 'timeline', testid: 'order-timeline', 'aria-label': 'Order history' },
    events.map((e) => h('li', { testid: 'timeline-event', dataset: { event: e.key } },
      h('time', { datetime: e.at }, formatDate(e.at)), h('span', null, ` ${e.text}`), e.extra || null)));
}
