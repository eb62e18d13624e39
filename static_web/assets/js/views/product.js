// Product page: picture, price, stock state, quantity and add to cart.

import { getProduct } from '../api.js';
import { alertRegion, field, h, replace, showError, skeletonLines } from '../dom.js';
import { formatMoney } from '../money.js';
import { placeholderImage } from '../placeholder.js';
import { session } from '../session.js';
import { addWithFeedback, stockLabel, variantLabel } from './components.js';

export async function render(main, ctx) {
  const slug = ctx.params.slug;
  const error = alertRegion('product-error');
  replace(main, h('div', { class: 'product-detail', 'aria-busy': 'true' },
    h('div', { class: 'skeleton skeleton-block', 'aria-hidden': 'true' }),
    h('div', null, h('h1', { class: 'visually-hidden' }, 'Loading product'), skeletonLines(6))), error);
  let p;
  try {
    p = await getProduct(slug);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(main, h('h1', null, 'Product'), error);
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  if (!p) {
    ctx.setTitle('Not found');
    replace(main, h('div', { class: 'notice', testid: 'product-not-found' },
      h('h1', null, 'Product not found'), h('p', null, 'It may have been removed. '), h('a', { href: '#/products' }, 'Browse products')));
    return;
  }
  ctx.setTitle(p.name);
  const variants = p.variants || [];
  // Several variants: the shopper picks one (the first in stock by default); price and stock follow it.
  let variant = variants.length > 1 ? (variants.find((v) => v.stockQty > 0) || variants[0]) : null;
  const out = variant ? variant.stockQty <= 0 : (!p.stockQty || p.stockQty <= 0);
  const max = Math.max(1, Math.min((variant ? variant.stockQty : p.stockQty) || 1, 999));
  const qtyField = field({ label: 'Quantity', name: 'qty', type: 'number', value: '1', testid: 'qty-input',
    attrs: { min: 1, max, step: 1, inputmode: 'numeric', required: true, disabled: out } });
  const button = h('button', { type: 'submit', class: 'btn', testid: 'add-to-cart', disabled: out }, out ? 'Out of stock' : 'Add to cart');
  const result = alertRegion('add-to-cart-message');
  const price = h('div', { class: 'price', testid: 'product-price' },
    formatMoney(variant ? variant.priceMinor : p.priceMinor, variant ? variant.currency : p.currency));
  const stock = h('div', null, stockLabel(variant ? variant.stockQty : p.stockQty));
  let picker = null;
  if (variant) {
    const select = h('select', { id: 'variant', name: 'variant', testid: 'variant-select' },
      ...variants.map((v) => h('option', { value: v.id, selected: v.id === variant.id },
        `${variantLabel(v)}${v.stockQty > 0 ? '' : ' (out of stock)'}`)));
    select.addEventListener('change', () => {
      variant = variants.find((v) => v.id === select.value) || variant;
      replace(price, formatMoney(variant.priceMinor, variant.currency));
      replace(stock, stockLabel(variant.stockQty));
      const none = variant.stockQty <= 0;
      button.disabled = none;
      replace(button, none ? 'Out of stock' : 'Add to cart');
    });
    picker = h('div', { class: 'field' }, h('label', { for: 'variant' }, 'Option'), select);
  }
  const form = h('form', { class: 'buy-row', testid: 'add-to-cart-form', novalidate: true }, picker, qtyField, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const qty = Number.parseInt(form.elements.qty.value, 10);
    if (!Number.isInteger(qty) || qty < 1) {
      showError(result, { code: 'INVALID_ARGUMENT', message: 'quantity must be at least 1', fieldErrors: [{ field: 'qty', message: 'Enter a quantity of 1 or more.' }] }, { form });
      return;
    }
    await addWithFeedback(button, result, p, qty, variant);
  });
  replace(main,
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Home'), ' / ',
      h('a', { href: `#/c/${encodeURIComponent(p.categorySlug)}`, testid: 'product-category' }, p.categorySlug), ' / ', p.name),
    h('article', { class: 'product-detail', testid: 'product-detail', dataset: { productId: p.id, slug: p.slug } },
      h('img', { class: 'hero', src: placeholderImage(p.categorySlug, p.name), alt: '', width: 800, height: 600 }),
      h('div', null,
        h('h1', { testid: 'product-name' }, p.name),
        price,
        stock,
        form, result,
        p.description ? h('div', { class: 'description', testid: 'product-description' }, p.description) : null)));
}
