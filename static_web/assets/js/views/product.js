// Product page: picture, price, stock state, quantity and add to cart.

import { getProduct } from '../api.js';
import { alertRegion, field, h, parseQty, replace, showError, skeletonLines } from '../dom.js';
import { formatMoney } from '../money.js';
import { productPicture } from '../placeholder.js';
import { mountSlot, pluginOn } from '../plugins-ui.js';
import { session } from '../session.js';
import { addWithFeedback, stockLabel } from './components.js';

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
  const optionNames = (p.options || []).map((o) => o.name);
  // Several variants: one picker per option; the first variant in stock is chosen to start with.
  let variant = variants.find((v) => v.stockQty > 0) || variants[0] || null;
  const available = () => (variant ? variant.stockQty : p.stockQty) || 0;
  const orderable = pluginOn('orders');
  const qtyField = field({ label: 'Quantity', name: 'qty', type: 'number', value: '1', testid: 'qty-input',
    attrs: { min: 1, step: 1, inputmode: 'numeric', required: true } });
  const qtyInput = qtyField.querySelector('input');
  const button = h('button', { type: 'submit', class: 'btn', testid: 'add-to-cart' }, 'Add to cart');
  const result = alertRegion('add-to-cart-message');
  const price = h('div', { class: 'price', testid: 'product-price' });
  const stock = h('div');
  const sku = h('p', { class: 'muted sku', testid: 'variant-sku' });

  const valueOf = (v, name) => ((v.options || []).find((o) => o.name === name) || {}).value;
  const pickers = variants.length > 1 && optionNames.length
    ? optionNames.map((name) => {
      const values = (p.options.find((o) => o.name === name) || { values: [] }).values;
      const id = `opt-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const select = h('select', { id, name: `option-${name}`, testid: 'option-select', dataset: { option: name } },
        values.map((value) => h('option', { value }, value)));
      select.addEventListener('change', () => choose(name, select.value));
      return { name, select, box: h('div', { class: 'field' }, h('label', { for: id }, name), select) };
    })
    : [];

  // The variant matching every picked value; when the pick makes an impossible or
  // sold-out combination, the in-stock variant with the new value closest to the rest.
  function choose(name, value) {
    const wanted = Object.fromEntries(pickers.map((pk) => [pk.name, pk.name === name ? value : valueOf(variant, pk.name)]));
    const score = (v) => pickers.filter((pk) => valueOf(v, pk.name) === wanted[pk.name]).length;
    const withValue = variants.filter((v) => valueOf(v, name) === value);
    const exact = withValue.find((v) => score(v) === pickers.length);
    variant = exact && exact.stockQty > 0 ? exact
      : [...withValue].sort((a, b) => (b.stockQty > 0) - (a.stockQty > 0) || score(b) - score(a))[0] || exact || variant;
    paint();
  }

  function paint() {
    const v = variant;
    replace(price, formatMoney(v ? v.priceMinor : p.priceMinor, v ? v.currency : p.currency));
    if (v && v.displayPriceMinor != null) price.append(h('span', { class: 'muted' }, ` (${formatMoney(v.displayPriceMinor, v.displayCurrency)})`));
    replace(stock, stockLabel(available()));
    sku.textContent = v && variants.length > 1 ? `SKU ${v.sku}` : '';
    for (const pk of pickers) {
      pk.select.value = valueOf(v, pk.name);
      // Each value says whether, with the other picks kept, it can be bought.
      for (const opt of pk.select.options) {
        const match = variants.find((c) => valueOf(c, pk.name) === opt.value
          && pickers.every((o) => o.name === pk.name || valueOf(c, o.name) === valueOf(v, o.name)));
        const any = variants.some((c) => valueOf(c, pk.name) === opt.value && c.stockQty > 0);
        opt.disabled = !any; // no variant with this value is in stock at all
        opt.textContent = match && match.stockQty > 0 ? opt.value : `${opt.value} (${match ? 'sold out' : 'unavailable'})`;
      }
    }
    const none = available() <= 0;
    qtyInput.max = String(Math.max(1, Math.min(available(), 999)));
    qtyInput.disabled = none || !orderable;
    button.disabled = none || !orderable;
    replace(button, none ? 'Out of stock' : 'Add to cart');
  }
  paint();

  const form = h('form', { class: 'buy-row', testid: 'add-to-cart-form', novalidate: true },
    pickers.length ? h('div', { class: 'option-pickers' }, pickers.map((pk) => pk.box)) : null, qtyField, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const max = available();
    const qty = parseQty(qtyInput.value, { max: 999 });
    if (qty === null) {
      showError(result, { code: 'INVALID_ARGUMENT', message: 'quantity must be a whole number', fieldErrors: [{ field: 'qty', message: 'Enter a whole number of 1 or more (no decimals).' }] }, { form });
      return;
    }
    if (qty > max) {
      showError(result, { code: 'INVALID_ARGUMENT', message: `only ${max} in stock`, fieldErrors: [{ field: 'qty', message: `Only ${max} in stock: choose ${max} or fewer.` }] }, { form });
      result.dataset.reason = 'OUT_OF_STOCK';
      return;
    }
    await addWithFeedback(button, result, p, qty, variant);
  });
  const slot = h('div', { class: 'product-slot', testid: 'slot-product-details' });
  replace(main,
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Home'), ' / ',
      h('a', { href: `#/c/${encodeURIComponent(p.categorySlug)}`, testid: 'product-category' }, p.categorySlug), ' / ', p.name),
    h('article', { class: 'product-detail', testid: 'product-detail', dataset: { productId: p.id, slug: p.slug } },
      gallery(p),
      h('div', null,
        h('h1', { testid: 'product-name' }, p.name),
        price,
        stock,
        sku,
        orderable ? form : h('p', { class: 'notice', testid: 'ordering-off' }, 'Ordering is not available in this shop right now.'),
        result,
        p.description ? h('div', { class: 'description', testid: 'product-description' }, p.description) : null)),
    slot);
  // Plugins' pieces (e.g. reviews) mount under the product; they load after the page is usable.
  mountSlot('product.details', slot, { product: { id: p.id, slug: p.slug, name: p.name } });
}

/**
 * The product's pictures: the main one large (WebP srcset from the renditions), and with several a row
 * of thumbnails that swap it. Thumbnails are buttons with the picture's alt text (or "Picture n of m").
 */
function gallery(p) {
  const SIZES = '(min-width: 900px) 50vw, 100vw';
  const images = p.images || [];
  const hero = h('img', { class: 'hero', testid: 'product-image', ...productPicture(p, SIZES), width: 800, height: 600 });
  if (images.length < 2) return h('div', { class: 'gallery', testid: 'gallery' }, hero);
  const show = (i) => {
    const pic = productPicture(p, SIZES, i);
    hero.removeAttribute('srcset');
    for (const [k, v] of Object.entries(pic)) if (v !== undefined) hero.setAttribute(k, v);
    hero.dataset.index = String(i);
    for (const [j, b] of thumbs.entries()) b.setAttribute('aria-pressed', String(j === i));
  };
  const thumbs = images.map((img, i) => {
    const small = (img.renditions || []).filter((r) => r.contentType === 'image/webp').sort((a, b) => a.width - b.width)[0];
    const b = h('button', { type: 'button', class: 'thumb-button', testid: 'gallery-thumb', 'aria-pressed': String(i === 0),
      'aria-label': img.alt ? `Show picture: ${img.alt}` : `Show picture ${i + 1} of ${images.length}` },
    h('img', { src: small ? small.url : img.url, alt: '', width: 96, height: 72, loading: 'lazy' }));
    b.addEventListener('click', () => show(i));
    return b;
  });
  hero.dataset.index = '0';
  return h('div', { class: 'gallery', testid: 'gallery' }, hero,
    h('div', { class: 'thumbs', role: 'group', 'aria-label': 'Pictures' }, thumbs));
}
