// Cart: edit quantities, remove lines, totals per currency, go to checkout.

import { getCart, getProduct, removeCartVariant, setCartVariant } from '../api.js';
import { setCart } from '../cart-store.js';
import { alertRegion, busy, clearAlert, h, nextId, parseQty, replace, reveal, showError, showOk, skeletonLines } from '../dom.js';
import { formatMoney } from '../money.js';
import { placeholderImage } from '../placeholder.js';
import { session, signInUrl, signUpUrl, isGuest } from '../session.js';

export function totalsList(totals) {
  return h('ul', { class: 'totals', testid: 'cart-totals' },
    (totals || []).map((t) => h('li', { testid: 'cart-total', dataset: { currency: t.currency } },
      h('span', null, `Total (${t.currency})`), h('span', null, formatMoney(t.amountMinor, t.currency)))));
}

export async function render(main, ctx) {
  ctx.setTitle('Cart');
  if (!session.authenticated && !isGuest()) {
    replace(main, h('h1', null, 'Your cart'),
      h('div', { class: 'panel', testid: 'cart-sign-in' },
        h('p', null, 'Your cart is empty. Add something from the shop, or sign in to see your saved cart.'),
        h('div', { class: 'row' }, h('a', { class: 'btn', href: signInUrl() }, 'Sign in'),
          h('a', { class: 'btn btn-secondary', href: signUpUrl() }, 'Create an account'))));
    return;
  }
  const error = alertRegion('cart-error');
  const body = h('div', { class: 'two-col', 'aria-busy': 'true' },
    h('div', { class: 'panel' }, skeletonLines(6)), h('div', { class: 'panel' }, skeletonLines(3)));
  const heading = h('h1', { tabindex: '-1' }, 'Your cart');
  const status = alertRegion('cart-status');
  replace(main, heading, error, status, body);
  // variantId -> units in stock, from the product pages (cached by the server); a
  // quantity above it is refused here with the number, before any request.
  const stockOf = new Map();
  async function loadStock(c) {
    const slugs = [...new Set(c.items.map((i) => i.slug))];
    const products = await Promise.all(slugs.map((s) => getProduct(s).catch(() => null)));
    for (const p of products) for (const v of (p && p.variants) || []) stockOf.set(v.id, v.stockQty);
  }

  let cart;
  try {
    cart = await getCart();
  } catch (err) {
    if (!ctx.alive()) return;
    replace(body);
    showError(error, err, { session });
    return;
  }
  await loadStock(cart);
  if (!ctx.alive()) return;
  setCart(cart);
  draw(cart);

  function draw(c) {
    body.removeAttribute('aria-busy');
    if (!c.items.length) {
      replace(body, h('div', { class: 'notice span-all', testid: 'cart-empty' },
        h('p', null, 'Your cart is empty.'), h('a', { class: 'btn', href: '#/products' }, 'Start shopping')));
      return;
    }
    replace(body,
      h('section', { class: 'panel', 'aria-label': 'Items' }, h('ul', { class: 'cart-lines', testid: 'cart-lines' }, c.items.map(line))),
      h('aside', { class: 'panel', 'aria-labelledby': 'summary-title' },
        h('h2', { id: 'summary-title' }, 'Summary'),
        totalsList(c.totals),
        c.totals.length > 1
          ? h('p', { class: 'muted', testid: 'multi-currency-note' }, 'Your cart holds items in more than one currency. At checkout they are converted to the currency you pay in where a rate is configured.')
          : null,
        h('a', { class: 'btn btn-block', href: '#/checkout', testid: 'checkout-button' }, 'Go to checkout')));
  }

  // After an edit the list is redrawn: focus goes back to the edited line's
  // quantity (or, when the line is gone, to the message saying so), never lost.
  async function apply(fn, button, { variantId, done }) {
    clearAlert(error);
    clearAlert(status);
    try {
      const c = await busy(button, fn);
      if (!ctx.alive()) return;
      setCart(c);
      draw(c);
      const input = body.querySelector(`[data-testid=cart-line][data-variant-id="${CSS.escape(variantId)}"] input`);
      showOk(status, done, { focus: !input });
      if (input) { input.focus({ preventScroll: true }); reveal(input, false); }
    } catch (err) {
      if (ctx.alive()) showError(error, err, { session });
    }
  }

  function line(item) {
    const qtyId = nextId('qty');
    const stock = stockOf.has(item.variantId) ? stockOf.get(item.variantId) : null;
    const input = h('input', { id: qtyId, type: 'number', min: 0, max: stock === null ? 999 : Math.max(stock, item.qty, 1), step: 1, inputmode: 'numeric', value: String(item.qty), testid: 'qty-input', name: 'qty' });
    const update = h('button', { type: 'submit', class: 'btn btn-secondary btn-small', testid: 'update-qty' }, 'Update');
    const remove = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'remove-line', 'aria-label': `Remove ${item.name}` }, 'Remove');
    const form = h('form', { class: 'qty', novalidate: true },
      h('label', { for: qtyId, class: 'visually-hidden' }, `Quantity of ${item.name}`), input, update);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const qty = parseQty(input.value, { min: 0, max: 999 });
      if (qty === null) {
        showError(error, { code: 'INVALID_ARGUMENT', message: `enter a whole number of 0 or more for ${item.name} (no decimals)` });
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      if (stock !== null && qty > stock) {
        showError(error, { code: 'INVALID_ARGUMENT',
          message: stock > 0 ? `only ${stock} of ${item.name} in stock: choose ${stock} or fewer` : `${item.name} is out of stock: remove it to check out` });
        error.dataset.reason = 'OUT_OF_STOCK';
        input.setAttribute('aria-invalid', 'true');
        input.value = String(Math.min(item.qty, stock) || item.qty);
        input.focus();
        return;
      }
      input.removeAttribute('aria-invalid');
      if (qty === item.qty) return;
      // Lines are per variant (a product may be in the cart in several sizes).
      apply(() => (qty === 0 ? removeCartVariant(item.variantId) : setCartVariant(item.variantId, qty)), update,
        { variantId: item.variantId, done: qty === 0 ? `Removed ${item.name}.` : `${item.name}: quantity ${qty}.` });
    });
    input.addEventListener('change', () => form.requestSubmit());
    remove.addEventListener('click', () => apply(() => removeCartVariant(item.variantId), remove,
      { variantId: item.variantId, done: `Removed ${item.name}.` }));
    const optionText = (item.options || []).map((o) => `${o.name}: ${o.value}`).join(', ');
    const href = `#/p/${encodeURIComponent(item.slug)}`;
    return h('li', { class: 'cart-line', testid: 'cart-line',
      dataset: { productId: item.productId, variantId: item.variantId, slug: item.slug } },
      h('img', { src: placeholderImage(item.slug, item.name), alt: '', width: 72, height: 72 }),
      h('div', { class: 'line-info' },
        h('a', { href }, item.name),
        optionText ? h('div', { class: 'muted', testid: 'line-options' }, optionText) : null,
        h('div', { class: 'muted' }, `${formatMoney(item.unitPriceMinor, item.currency)} each`),
        stock !== null && stock < item.qty
          ? h('div', { class: 'stock stock-out', testid: 'line-stock-warning' }, stock > 0 ? `Only ${stock} left: lower the quantity to check out.` : 'Now out of stock: remove it to check out.')
          : null),
      h('div', { class: 'line-controls' }, form, remove,
        h('span', { class: 'line-total', testid: 'line-total' }, formatMoney(item.lineTotalMinor, item.currency))));
  }
}
