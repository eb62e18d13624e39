// Product listing: all products (#/products) or one category (#/c/{slug}), with
// search (?q=), sort (?sort=), page (?page=), filters (?min= ?max= in major units,
// ?stock=1, ?o.<option>=<value>) and facet counts beside the results. The URL holds
// the whole state, so back/forward and shared links work. The display currency
// (display-currency.js) converts prices, price filters and price sorts alike.

import { getProducts, getShopCurrencies } from '../api.js';
import { getCategories } from '../api.js';
import { displayCurrency, setDisplayCurrency } from '../display-currency.js';
import { alertRegion, field, h, replace, showError, skeletonCards } from '../dom.js';
import { minorToInput, parseMajor } from '../money.js';
import { pluginOn } from '../plugins-ui.js';
import { session } from '../session.js';
import { pager, productCard } from './components.js';

const PAGE_SIZE = 12;
const SORTS = [
  { value: '', label: 'Best match' },
  { value: 'newest', label: 'Newest' },
  { value: 'name', label: 'Name (A–Z)' },
  { value: 'price_asc', label: 'Price: low to high' },
  { value: 'price_desc', label: 'Price: high to low' },
];

/** The filter state in the URL: {min, max, stock, options: {name: value}}. */
function readFilters(query) {
  const options = {};
  for (const [k, v] of query.entries()) if (k.startsWith('o.') && k.length > 2 && v) options[k.slice(2)] = v.slice(0, 100);
  return { min: query.get('min') || '', max: query.get('max') || '', stock: query.get('stock') === '1', options };
}

function filterParams(f) {
  const out = { min: f.min, max: f.max, stock: f.stock ? '1' : '' };
  for (const [k, v] of Object.entries(f.options)) out[`o.${k}`] = v;
  return out;
}

export async function render(main, ctx) {
  const slug = ctx.params.slug || null;
  const q = (ctx.query.get('q') || '').slice(0, 200);
  const sortParam = ctx.query.get('sort') || '';
  const sort = SORTS.some((s) => s.value === sortParam) ? sortParam : '';
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') || '1', 10) || 1);
  const filters = readFilters(ctx.query);
  const cur = pluginOn('wallet') ? displayCurrency() : '';
  const base = slug ? `/c/${encodeURIComponent(slug)}` : '/products';
  const state = (over = {}) => ({ q, sort, ...filterParams(filters), page: 1, ...over });
  const href = (path, over) => ctx.hashFor(path, state(over));
  const go = (over) => ctx.navigate(href(base, over));

  const title = h('h1', { testid: 'listing-title', class: 'listing-title' }, slug ? '\u00a0' : (q ? `Results for “${q}”` : 'All products'));
  ctx.setTitle(slug || 'Products');
  const crumbs = h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Home'), ' / ',
    slug ? h('a', { href: '#/products' }, 'Products') : 'Products', slug ? ` / ${slug}` : null);

  const searchField = field({ label: slug ? 'Search this category' : 'Search', name: 'q', type: 'search', value: q,
    attrs: { maxlength: 200, placeholder: 'Product name or description' }, testid: 'search-input' });
  const sortField = field({ label: 'Sort by', name: 'sort', type: 'select', value: sort, options: SORTS, testid: 'sort-select' });
  sortField.classList.add('narrow');
  const currencyField = field({ label: 'Show prices in', name: 'currency', type: 'select', value: cur, testid: 'currency-select',
    options: [{ value: '', label: 'Product currency' }, ...(cur ? [{ value: cur, label: cur }] : [])] });
  currencyField.classList.add('narrow');
  currencyField.hidden = !pluginOn('wallet');
  const form = h('form', { class: 'toolbar', role: 'search', testid: 'listing-search' },
    searchField, sortField, currencyField, h('button', { type: 'submit', class: 'btn' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go({ q: form.elements.q.value.trim(), sort: form.elements.sort.value });
  });
  form.elements.sort.addEventListener('change', () => go({ q: form.elements.q.value.trim(), sort: form.elements.sort.value }));
  form.elements.currency.addEventListener('change', () => {
    setDisplayCurrency(form.elements.currency.value);
    // Price bounds were typed in the old currency: drop them rather than reinterpret them.
    go({ q: form.elements.q.value.trim(), sort: form.elements.sort.value, min: '', max: '' });
  });
  const shopCurrencies = pluginOn('wallet') ? getShopCurrencies().catch(() => []) : Promise.resolve([]);
  if (pluginOn('wallet')) {
    shopCurrencies.then((codes) => {
      if (!ctx.alive()) return;
      const select = form.elements.currency;
      for (const code of codes) if (code !== cur) select.append(h('option', { value: code }, code));
    }).catch(() => { /* the selector keeps its current choice */ });
  }

  const count = h('p', { class: 'result-count', 'aria-live': 'polite', testid: 'result-count' }, 'Loading…');
  const grid = h('ul', { class: 'product-grid', testid: 'product-list', 'aria-busy': 'true' }, skeletonCards(PAGE_SIZE));
  const facetBox = h('aside', { class: 'facets panel', 'aria-label': 'Filters', testid: 'facets' });
  const pagerBox = h('div');
  const error = alertRegion('listing-error');
  replace(main, crumbs, h('div', { class: 'page-head' }, title), form, error,
    h('div', { class: 'listing' }, facetBox, h('div', { class: 'listing-results' }, count, grid, pagerBox)));

  if (slug) {
    getCategories().then((cats) => {
      if (!ctx.alive()) return;
      const cat = cats.find((c) => c.slug === slug);
      title.textContent = cat ? cat.name : slug;
      ctx.setTitle(cat ? cat.name : slug);
    }).catch(() => { if (ctx.alive()) title.textContent = slug; });
  }

  // Price bounds are typed in major units of the display currency (or, without one,
  // of the currency the facets report); a bad bound is a field error, not a guess.
  // Prices in several currencies cannot be sorted or bounded as numbers: a price sort or a
  // price range without a chosen display currency uses the shop's first currency.
  const needsOne = sort.startsWith('price_') || filters.min || filters.max;
  const effCur = cur || (needsOne ? ((await shopCurrencies)[0] || '') : '');
  if (!ctx.alive()) return;
  const priceCurrency = effCur || ((await shopCurrencies)[0] || 'EUR');
  if (!ctx.alive()) return;
  const bound = (text) => (text ? parseMajor(text, priceCurrency, { allowZero: true }) : { ok: true, minor: null });
  const minB = bound(filters.min);
  const maxB = bound(filters.max);
  try {
    if (!minB.ok || !maxB.ok) {
      throw { code: 'INVALID_ARGUMENT', message: 'check the price range', fieldErrors: [
        ...(minB.ok ? [] : [{ field: 'min', message: minB.message }]), ...(maxB.ok ? [] : [{ field: 'max', message: maxB.message }])] };
    }
    const result = await getProducts({
      categorySlug: slug, search: q || null, page, pageSize: PAGE_SIZE, sort: sort || (q ? 'relevance' : null),
      minPrice: minB.minor, maxPrice: maxB.minor, inStock: filters.stock || null,
      options: Object.entries(filters.options).map(([name, value]) => ({ name, value })),
      displayCurrency: effCur || null, facets: true,
    });
    if (!ctx.alive()) return;
    grid.removeAttribute('aria-busy');
    // totalExact is false when a search has more matches than are ranked: the total is an estimate.
    const about = result.totalExact === false ? 'about ' : '';
    count.textContent = result.total === 1 ? '1 product' : `${about}${result.total} products`;
    if (!result.items.length) {
      replace(grid, h('li', { class: 'notice', testid: 'no-results' },
        q ? `Nothing matches “${q}”. Try another word or fewer filters.` : 'No products match these filters.'));
    } else {
      replace(grid, result.items.map(productCard));
    }
    replace(pagerBox, pager(result, (p) => href(base, { page: p })));
    drawFacets(result.facets);
  } catch (err) {
    if (!ctx.alive()) return;
    grid.removeAttribute('aria-busy');
    replace(grid);
    count.textContent = '';
    drawFacets(null);
    showError(error, err, { session, form: facetBox.querySelector('form') || form,
      aliases: { search: 'q', categorySlug: 'q', minPrice: 'min', maxPrice: 'max' } });
  }

  function drawFacets(facets) {
    const groups = [];
    if (facets && facets.categories.length && !q) {
      groups.push(h('div', { class: 'facet', testid: 'facet-categories' }, h('h3', null, 'Category'),
        h('ul', null, facets.categories.map((c) => h('li', null,
          h('a', { href: href(`/c/${encodeURIComponent(c.slug)}`), 'aria-current': c.slug === slug ? 'true' : null,
            testid: 'facet-category', dataset: { slug: c.slug } }, c.slug, h('span', { class: 'count' }, ` (${c.count})`)))))));
    }
    for (const opt of (facets ? facets.options : [])) {
      groups.push(h('div', { class: 'facet', testid: 'facet-option', dataset: { option: opt.name } }, h('h3', null, opt.name),
        h('ul', null, opt.values.map((v) => {
          const on = filters.options[opt.name] === v.value;
          const options = { ...filters.options };
          if (on) delete options[opt.name]; else options[opt.name] = v.value;
          const params = filterParams({ ...filters, options });
          for (const k of Object.keys(filters.options)) if (!(k in options)) params[`o.${k}`] = '';
          return h('li', null, h('a', {
            href: ctx.hashFor(base, { q, sort, ...params, page: 1 }), class: on ? 'facet-on' : null,
            'aria-pressed': null, 'aria-current': on ? 'true' : null, testid: 'facet-value',
            dataset: { option: opt.name, value: v.value, count: String(v.count) },
          }, on ? `✓ ${v.value}` : v.value, h('span', { class: 'count' }, ` (${v.count})`),
          on ? h('span', { class: 'visually-hidden' }, ' (selected, select to remove)') : null));
        }))));
    }
    // Price range and stock: one small form (submits into the URL).
    const range = facets && facets.price;
    const minF = field({ label: `Min (${priceCurrency})`, name: 'min', value: filters.min, testid: 'price-min',
      attrs: { inputmode: 'decimal', maxlength: 16, placeholder: range && range.currency === priceCurrency ? minorToInput(range.min, range.currency) : '' } });
    const maxF = field({ label: `Max (${priceCurrency})`, name: 'max', value: filters.max, testid: 'price-max',
      attrs: { inputmode: 'decimal', maxlength: 16, placeholder: range && range.currency === priceCurrency ? minorToInput(range.max, range.currency) : '' } });
    const stockBox = h('input', { type: 'checkbox', id: 'in-stock', name: 'stock', checked: filters.stock, testid: 'in-stock' });
    const pf = h('form', { class: 'facet price-filter', testid: 'price-filter', novalidate: true },
      h('h3', null, 'Price'),
      cur || !pluginOn('wallet') ? null : h('p', { class: 'hint', testid: 'price-currency-note' }, `Prices are compared in ${priceCurrency}, converted as at checkout.`),
      h('div', { class: 'row' }, minF, maxF),
      h('div', { class: 'check' }, stockBox, h('label', { for: 'in-stock' }, 'In stock only')),
      h('button', { type: 'submit', class: 'btn btn-secondary btn-small' }, 'Apply'));
    pf.addEventListener('submit', (e) => {
      e.preventDefault();
      go({ min: pf.elements.min.value.trim(), max: pf.elements.max.value.trim(), stock: stockBox.checked ? '1' : '' });
    });
    stockBox.addEventListener('change', () => pf.requestSubmit());
    const active = filters.min || filters.max || filters.stock || Object.keys(filters.options).length;
    const clearAll = { min: '', max: '', stock: '' };
    for (const k of Object.keys(filters.options)) clearAll[`o.${k}`] = '';
    // On phones the filters fold away above the results (open on wide screens).
    const wide = window.matchMedia('(min-width: 880px)').matches;
    replace(facetBox, h('details', { class: 'facets-details', open: wide || null },
      h('summary', { class: 'facets-title', testid: 'facets-toggle' }, active ? 'Filters (on)' : 'Filters'),
      active ? h('a', { href: ctx.hashFor(base, { q, sort }), testid: 'clear-filters', class: 'clear-filters' }, 'Clear all filters') : null,
      ...groups, pf));
  }
}
