// Pieces shared by several views: product card, stock label, pager, add-to-cart.

import { addToCart } from '../api.js';
import { setCart } from '../cart-store.js';
import { alertRegion, busy, clearAlert, h, replace, showError, showOk } from '../dom.js';
import { formatMoney } from '../money.js';
import { productPicture } from '../placeholder.js';
import { pluginOn } from '../plugins-ui.js';
import { session, signInUrl, isGuest, startGuest } from '../session.js';

export const LOW_STOCK = 5;

export function stockInfo(qty) {
  if (!qty || qty <= 0) return { cls: 'stock-out', text: 'Out of stock', state: 'out' };
  if (qty <= LOW_STOCK) return { cls: 'stock-low', text: `Only ${qty} left`, state: 'low' };
  return { cls: 'stock-in', text: 'In stock', state: 'in' };
}

export function stockLabel(qty) {
  const s = stockInfo(qty);
  return h('span', { class: `stock ${s.cls}`, testid: 'stock-state', dataset: { stock: s.state } }, s.text);
}

/**
 * Add to cart with the result reported in `region`. Anonymous shoppers are
 * told to sign in (with a link) instead of a failing request.
 */
export async function addWithFeedback(button, region, product, qty, variant = null) {
  clearAlert(region);
  try {
    // An anonymous visitor shops as a guest (cart under the guest cookie); signing in merges it.
    const cart = await busy(button, async () => {
      if (!session.authenticated && !isGuest()) await startGuest();
      return addToCart(product.id, qty, variant ? variant.id : null);
    });
    setCart(cart);
    const what = variant && variant.options.length ? `${product.name} (${variantLabel(variant)})` : product.name;
    showOk(region, h('span', null, `Added ${qty} × ${what} to your cart. `, h('a', { href: '#/cart' }, 'View cart')));
    return true;
  } catch (err) {
    showError(region, err, { session });
    return false;
  }
}

/** "M / Navy": a variant's option values. */
export function variantLabel(v) {
  return (v.options || []).map((o) => o.value).join(' / ');
}

export function productCard(p) {
  const href = `#/p/${encodeURIComponent(p.slug)}`;
  const out = !p.stockQty || p.stockQty <= 0;
  const region = alertRegion('card-message');
  // A product in sizes or colours is chosen on its own page.
  const choose = (p.variants || []).length > 1;
  const button = !pluginOn('orders') ? null : choose && !out
    ? h('a', { class: 'btn btn-small btn-block', href, testid: 'choose-options' }, 'Choose options')
    : h('button', {
      type: 'button', class: 'btn btn-small btn-block', testid: 'add-to-cart', disabled: out,
      // The visible words start the accessible name (WCAG 2.5.3 "label in name").
      'aria-label': out ? `Out of stock: ${p.name}` : `Add to cart: ${p.name}`,
    }, out ? 'Out of stock' : 'Add to cart');
  if (button && !choose) button.addEventListener('click', () => addWithFeedback(button, region, p, 1));
  return h('li', null,
    h('article', { class: 'product-card', testid: 'product-card', dataset: { slug: p.slug, productId: p.id } },
      h('a', { href, tabindex: '-1', 'aria-hidden': 'true' },
        h('img', { class: 'thumb', ...productPicture(p, '(min-width: 700px) 25vw, 100vw'), width: 400, height: 300, loading: 'lazy' })),
      h('div', { class: 'body' },
        h('h3', null, h('a', { href, testid: 'product-link' }, p.name)),
        stockLabel(p.stockQty),
        priceBlock(p),
        button,
        region)));
}

/**
 * A card's price. With a display currency the converted price (what a wallet in
 * that currency pays at checkout) leads and the product's own price follows.
 */
export function priceBlock(p) {
  const from = (p.variants || []).length > 1 && new Set(p.variants.map((v) => `${v.priceMinor}${v.currency}`)).size > 1 ? 'From ' : '';
  if (p.displayPriceMinor != null && p.displayCurrency && p.displayCurrency !== p.currency) {
    return h('div', { class: 'price', testid: 'product-price', dataset: { displayMinor: String(p.displayPriceMinor), displayCurrency: p.displayCurrency } },
      `${from}${formatMoney(p.displayPriceMinor, p.displayCurrency)}`,
      h('span', { class: 'price-own muted' }, ` ${formatMoney(p.priceMinor, p.currency)}`));
  }
  return h('div', { class: 'price', testid: 'product-price', dataset: { displayMinor: String(p.displayPriceMinor ?? p.priceMinor), displayCurrency: p.displayCurrency || p.currency } },
    `${from}${formatMoney(p.priceMinor, p.currency)}`);
}

/** Prev / next pager. `hrefFor(page)` builds the link for a page. */
export function pager({ page, pageSize, total }, hrefFor) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1) return null;
  const link = (p, label, rel, testid) => (p >= 1 && p <= pages
    ? h('a', { class: 'btn btn-secondary btn-small', href: hrefFor(p), rel, testid }, label)
    : h('span', { class: 'btn btn-secondary btn-small', 'aria-disabled': 'true' }, label));
  return h('nav', { class: 'pager', 'aria-label': 'Pagination', testid: 'pager' },
    link(page - 1, '← Previous', 'prev', 'pager-prev'),
    h('span', { class: 'muted', 'aria-current': 'page', testid: 'pager-status' }, `Page ${page} of ${pages}`),
    link(page + 1, 'Next →', 'next', 'pager-next'));
}

/** An order status in words ("partially_refunded" reads "partially refunded"). */
export function statusText(status) {
  return String(status).replace(/_/g, ' ');
}

export function statusBadge(status) {
  return h('span', { class: `status status-${status}`, testid: 'order-status' }, statusText(status));
}
