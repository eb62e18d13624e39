// Order history (#/orders), order detail and confirmation (#/orders/{id}),
// with cancel (refund + restock on the server).

import { cancelOrder, getOrder, getOrders, newIdempotencyKey, getGuestOrder } from '../api.js';
import { alertRegion, busy, clearAlert, formatDate, h, replace, showError, showOk, skeletonLines } from '../dom.js';
import { formatMoney } from '../money.js';
import { session } from '../session.js';
import { pager, statusBadge, statusText } from './components.js';
import { addressBlock, orderSums, orderTimeline } from './order-parts.js';

const PAGE_SIZE = 10;
const CANCELLABLE = new Set(['pending', 'paid']);

export async function render(main, ctx) {
  if (ctx.detail) return renderDetail(main, ctx);
  return renderList(main, ctx);
}

function itemsSummary(items) {
  const names = items.map((i) => (i.qty > 1 ? `${i.qty} × ${i.name}` : i.name));
  return names.length > 2 ? `${names.slice(0, 2).join(', ')} and ${names.length - 2} more` : names.join(', ');
}

function shortId(id) {
  return String(id).slice(0, 8).toUpperCase();
}

function paymentText(o) {
  if (o.paymentMethod === 'card') {
    return o.cardLast4 ? `Card: ${o.cardBrand || 'card'} ending ${o.cardLast4}` : 'Card';
  }
  if (o.paymentMethod === 'wallet') return `Wallet (${o.currency})`;
  return String(o.paymentMethod || '').replace(/[_:]/g, ' ');
}

async function renderList(main, ctx) {
  ctx.setTitle('Orders');
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') || '1', 10) || 1);
  const error = alertRegion('orders-error');
  const box = h('div', { class: 'panel', 'aria-busy': 'true' }, skeletonLines(8));
  replace(main, h('h1', null, 'Your orders'), error, box);
  let result;
  try {
    result = await getOrders(page, PAGE_SIZE);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(box);
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  if (!result.items.length) {
    replace(main, h('h1', null, 'Your orders'), h('div', { class: 'notice', testid: 'orders-empty' },
      h('p', null, 'You have not placed any orders yet.'), h('a', { class: 'btn', href: '#/products' }, 'Start shopping')));
    return;
  }
  const table = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Table (scrolls sideways)' }, h('table', { testid: 'orders-table' },
    h('caption', { class: 'visually-hidden' }, 'Your orders, newest first'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Order'), h('th', { scope: 'col' }, 'Placed'), h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Items'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
    h('tbody', null, result.items.map((o) => h('tr', { testid: 'order-row', dataset: { orderId: o.id, status: o.status } },
      h('td', null, h('a', { href: `#/orders/${encodeURIComponent(o.id)}`, testid: 'order-link' }, `#${shortId(o.id)}`)),
      h('td', null, formatDate(o.createdAt)),
      h('td', null, statusBadge(o.status)),
      h('td', null, itemsSummary(o.items || [])),
      h('td', { class: 'num' }, formatMoney(o.totalMinor, o.currency)))))));
  replace(main, h('h1', null, 'Your orders'), error, table, pager(result, (p) => ctx.hashFor('/orders', { page: p })));
}

async function renderDetail(main, ctx) {
  const id = ctx.params.id;
  const link = ctx.params.token || null;
  const placed = ctx.query.get('placed') === '1';
  ctx.setTitle(placed ? 'Thank you' : 'Order');
  const error = alertRegion('order-error');
  const box = h('div', { class: 'panel', 'aria-busy': 'true' }, skeletonLines(8));
  replace(main, h('h1', null, placed ? 'Thank you for your order' : 'Order'), error, box);
  let order;
  try {
    // A guest's signed order link (#/order-link/{token}) opens the order without an account.
    order = link ? await getGuestOrder(link) : await getOrder(id);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(box);
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  if (!order) {
    replace(main, h('div', { class: 'notice', testid: 'order-not-found' }, h('h1', null, 'Order not found'),
      h('a', { href: '#/orders' }, 'Back to your orders')));
    return;
  }
  draw(order);

  function draw(o) {
    let cancelKey = newIdempotencyKey();
    const cancelResult = alertRegion('cancel-error');
    const cancel = !link && CANCELLABLE.has(o.status)
      ? h('button', { type: 'button', class: 'btn btn-danger', testid: 'cancel-order' }, 'Cancel order')
      : null;
    if (cancel) {
      cancel.addEventListener('click', async () => {
        // A real confirm step (not window.confirm) keeps keyboard and test flows simple.
        if (cancel.dataset.armed !== 'true') {
          cancel.dataset.armed = 'true';
          cancel.textContent = 'Confirm cancellation';
          showOk(cancelResult, 'Press “Confirm cancellation” to cancel this order and refund the payment.');
          return;
        }
        clearAlert(cancelResult);
        try {
          const updated = await busy(cancel, () => cancelOrder(o.id, cancelKey));
          if (!ctx.alive()) return;
          draw(updated);
          const note = document.querySelector('[data-testid="cancel-result"]');
          if (note) showOk(note, `Order cancelled. ${o.paymentMethod === 'wallet' ? 'The amount is back in your wallet.' : 'Your payment has been refunded.'}`);
        } catch (err) {
          if (err.code !== 'NETWORK') cancelKey = newIdempotencyKey();
          if (ctx.alive()) showError(cancelResult, err, { session });
        }
      });
    }
    const items = (o.items || []).map((i) => {
      const name = i.slug ? h('a', { href: `#/p/${encodeURIComponent(i.slug)}` }, i.name) : (i.name || `Product ${shortId(i.productId)}`);
      return h('tr', { testid: 'order-item', dataset: { productId: i.productId } },
        h('td', null, name), h('td', { class: 'num' }, String(i.qty)),
        h('td', { class: 'num unit' }, formatMoney(i.unitPriceMinor, i.currency)),
        h('td', { class: 'num' }, formatMoney(i.lineTotalMinor ?? i.unitPriceMinor * i.qty, i.currency)));
    });
    replace(main,
      placed ? h('div', { class: 'confirm-hero', testid: 'order-confirmation' },
        h('img', { class: 'tick', src: TICK, alt: '', width: 56, height: 56 }),
        h('h1', null, 'Thank you for your order'),
        h('p', { class: 'muted' }, `Order #${shortId(o.id)} is ${statusText(o.status)}.`)) : null,
      link ? null : h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/orders' }, 'Orders'), ` / #${shortId(o.id)}`),
      link ? h('p', { class: 'muted', testid: 'guest-link-note' }, 'Keep this page’s address: it is your link to this order (we also emailed it to you).') : null,
      placed ? h('h2', null, 'Order details') : h('h1', null, `Order #${shortId(o.id)}`),
      h('div', { class: 'alert', role: 'status', testid: 'cancel-result' }),
      h('section', { class: 'panel', testid: 'order-detail', dataset: { orderId: o.id, status: o.status } },
        h('dl', { class: 'kv' },
          h('dt', null, 'Status'), h('dd', null, statusBadge(o.status)),
          h('dt', null, 'Placed'), h('dd', null, formatDate(o.createdAt)),
          h('dt', null, 'Payment'), h('dd', { testid: 'order-payment' }, paymentText(o)),
          h('dt', null, 'Total'), h('dd', { testid: 'order-total' }, h('strong', null, formatMoney(o.totalMinor, o.currency))),
          o.cancelledAt ? [h('dt', null, 'Cancelled'), h('dd', null, formatDate(o.cancelledAt))] : null,
          h('dt', null, 'Order id'), h('dd', { class: 'mono' }, o.id)),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Items' }, h('table', { class: 'order-items' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'num' }, 'Qty'),
            h('th', { scope: 'col', class: 'num unit' }, 'Unit price'), h('th', { scope: 'col', class: 'num' }, 'Subtotal'))),
          h('tbody', null, items))),
        orderSums(o)),
      h('section', { class: 'panel', 'aria-labelledby': 'track-h', testid: 'order-tracking' },
        h('h2', { id: 'track-h' }, (o.fulfillments || []).length ? 'Tracking' : 'Status'),
        orderTimeline(o),
        o.shippingAddress ? [h('h3', null, 'Shipping to'), addressBlock(o.shippingAddress)] : null),
      h('div', { class: 'row section' }, cancel, link ? null : h('a', { class: 'btn btn-secondary', href: '#/orders' }, 'All orders'),
        h('a', { class: 'btn btn-secondary', href: '#/products' }, 'Continue shopping')),
      cancelResult);
  }
}

const TICK = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 56 56"><circle cx="28" cy="28" r="28" fill="#2b8a3e"/>'
  + '<path d="M16 29l8 8 16-17" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/></svg>')}`;
