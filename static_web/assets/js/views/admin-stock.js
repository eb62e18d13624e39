// Admin: low stock (#/admin/low-stock?threshold=5&page=1). Every variant with at
// most `threshold` in stock, lowest first, each with a restock field.

import { getLowStock, setVariantStock } from '../api.js';
import {
  alertRegion, busy, clearAlert, clearFieldErrors, field, h, parseQty, replace, showError, showOk, skeletonLines,
} from '../dom.js';
import { session } from '../session.js';
import { pager } from './components.js';
import { adminHead } from './admin-nav.js';

const PAGE_SIZE = 20;
const DEFAULT_THRESHOLD = 5;

function readQuery(query) {
  const t = parseQty(query.get('threshold') ?? String(DEFAULT_THRESHOLD), { min: 0, max: 999999 });
  const p = parseQty(query.get('page') ?? '1', { min: 1, max: 100000 });
  return { threshold: t ?? DEFAULT_THRESHOLD, page: p ?? 1 };
}

function variantText(v) {
  const opts = (v.options || []).map((o) => `${o.name} ${o.value}`).join(', ');
  return opts || 'Only variant';
}

export async function render(main, ctx) {
  ctx.setTitle('Low stock');
  const { threshold, page } = readQuery(ctx.query);
  const error = alertRegion('low-stock-error');
  const form = h('form', { class: 'inline-form toolbar threshold-form', testid: 'threshold-form', novalidate: true },
    field({ label: 'Show variants with at most', name: 'threshold', type: 'number', value: String(threshold), testid: 'threshold',
      hint: 'in stock', attrs: { min: 0, step: 1, inputmode: 'numeric' } }),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    const t = parseQty(form.elements.threshold.value, { min: 0, max: 999999 });
    if (t === null) {
      showError(error, { code: 'INVALID_ARGUMENT', message: 'check the threshold', fieldErrors: [{ field: 'threshold', message: 'Enter a whole number of 0 or more.' }] }, { form });
      return;
    }
    ctx.navigate(ctx.hashFor('/admin/low-stock', { threshold: t === DEFAULT_THRESHOLD ? null : t }));
  });
  const list = h('section', { class: 'panel', 'aria-labelledby': 'low-h', testid: 'low-stock' },
    h('h2', { id: 'low-h' }, 'Running low'), h('div', { 'aria-busy': 'true' }, skeletonLines(6)));
  replace(main, ...adminHead('Low stock', 'low-stock'), error, form, list);

  let res;
  try {
    res = await getLowStock({ threshold, page, pageSize: PAGE_SIZE });
  } catch (err) {
    if (!ctx.alive()) return;
    replace(list, h('h2', { id: 'low-h' }, 'Running low'));
    showError(error, err, { form, session });
    return;
  }
  if (!ctx.alive()) return;
  const heading = h('h2', { id: 'low-h' }, `Running low: ${res.total} ${res.total === 1 ? 'variant' : 'variants'} with ${threshold} or fewer`);
  if (!res.items.length) {
    replace(list, heading, h('p', { class: 'notice', testid: 'no-low-stock' }, `Nothing has ${threshold} or fewer in stock.`));
    return;
  }
  replace(list, heading,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Low-stock variants (scrolls sideways)' },
      h('table', { class: 'admin-list', testid: 'low-stock-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Variant'),
          h('th', { scope: 'col', class: 'num' }, 'In stock'), h('th', { scope: 'col' }, 'Restock'))),
        h('tbody', null, res.items.map((item) => row(item, ctx))))),
    pager(res, (p) => ctx.hashFor('/admin/low-stock', { threshold: threshold === DEFAULT_THRESHOLD ? null : threshold, page: p })));
}

function row(item, ctx) {
  const v = item.variant;
  const qtyCell = h('td', { class: `num${v.stockQty === 0 ? ' stock-zero' : ''}`, testid: 'low-stock-qty', dataset: { label: 'In stock' } }, String(v.stockQty));
  const result = alertRegion('restock-result');
  const save = h('button', { type: 'submit', class: 'btn btn-secondary btn-small', testid: 'restock-save' }, 'Set');
  const label = `${item.productName}${v.options.length ? ` (${variantText(v)})` : ''}`;
  const form = h('form', { class: 'restock-form', testid: 'restock-form', novalidate: true, 'aria-label': `Restock ${label}` },
    field({ label: 'New stock', name: 'stockQty', type: 'number', value: String(v.stockQty), testid: 'restock-qty',
      attrs: { min: 0, step: 1, inputmode: 'numeric' } }),
    save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(result);
    clearFieldErrors(form);
    const qty = parseQty(form.elements.stockQty.value, { min: 0, max: 1_000_000_000 });
    if (qty === null) {
      showError(result, { code: 'INVALID_ARGUMENT', message: 'check the stock', fieldErrors: [{ field: 'stockQty', message: 'Enter a whole number of 0 or more.' }] }, { form });
      return;
    }
    try {
      const saved = await busy(save, () => setVariantStock(v.id, qty));
      if (!ctx.alive()) return;
      v.stockQty = saved.stockQty;
      qtyCell.textContent = String(saved.stockQty);
      qtyCell.classList.toggle('stock-zero', saved.stockQty === 0);
      showOk(result, `${label}: ${saved.stockQty} in stock.`);
    } catch (err) {
      if (ctx.alive()) showError(result, err, { form, session });
    }
  });
  return h('tr', { testid: 'low-stock-row', dataset: { variantId: v.id, productId: item.productId } },
    h('td', null, h('a', { href: `#/p/${encodeURIComponent(item.productSlug)}` }, item.productName)),
    h('td', null, variantText(v), h('div', { class: 'muted mono' }, v.sku)),
    qtyCell,
    h('td', null, form, result));
}
