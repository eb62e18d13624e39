// Product listing: all products (#/products) or one category (#/c/{slug}),
// with search (?q=), sorting (?sort=) and pagination (?page=). The URL holds
// the whole state, so back/forward and shared links work.

import { getCategories, getProducts } from '../api.js';
import { alertRegion, field, h, replace, showError, skeletonCards } from '../dom.js';
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

export async function render(main, ctx) {
  const slug = ctx.params.slug || null;
  const q = (ctx.query.get('q') || '').slice(0, 200);
  const sortParam = ctx.query.get('sort') || '';
  const sort = SORTS.some((s) => s.value === sortParam) ? sortParam : '';
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') || '1', 10) || 1);
  const base = slug ? `/c/${encodeURIComponent(slug)}` : '/products';
  const go = (over) => ctx.navigate(ctx.hashFor(base, { q, sort, page: 1, ...over }));

  const title = h('h1', { testid: 'listing-title' }, slug ? '\u00a0' : (q ? `Results for “${q}”` : 'All products'));
  ctx.setTitle(slug || 'Products');
  const crumbs = h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Home'), ' / ',
    slug ? h('a', { href: '#/products' }, 'Products') : 'Products', slug ? ` / ${slug}` : null);

  const searchField = field({ label: slug ? 'Search this category' : 'Search', name: 'q', type: 'search', value: q,
    attrs: { maxlength: 200, placeholder: 'Product name or description' }, testid: 'search-input' });
  const sortField = field({ label: 'Sort by', name: 'sort', type: 'select', value: sort, options: SORTS, testid: 'sort-select' });
  sortField.classList.add('narrow');
  const form = h('form', { class: 'toolbar', role: 'search', testid: 'listing-search' },
    searchField, sortField, h('button', { type: 'submit', class: 'btn' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go({ q: form.elements.q.value.trim(), sort: form.elements.sort.value });
  });
  form.elements.sort.addEventListener('change', () => go({ q: form.elements.q.value.trim(), sort: form.elements.sort.value }));

  const count = h('p', { class: 'result-count', 'aria-live': 'polite', testid: 'result-count' }, 'Loading…');
  const grid = h('ul', { class: 'product-grid', testid: 'product-list', 'aria-busy': 'true' }, skeletonCards(PAGE_SIZE));
  const pagerBox = h('div');
  const error = alertRegion('listing-error');
  replace(main, crumbs, h('div', { class: 'page-head' }, title), form, error, count, grid, pagerBox);

  if (slug) {
    getCategories().then((cats) => {
      if (!ctx.alive()) return;
      const cat = cats.find((c) => c.slug === slug);
      title.textContent = cat ? cat.name : slug;
      ctx.setTitle(cat ? cat.name : slug);
    }).catch(() => { if (ctx.alive()) title.textContent = slug; });
  }

  try {
    const result = await getProducts({ categorySlug: slug, search: q || null, page, pageSize: PAGE_SIZE, sort: sort || (q ? 'relevance' : null) });
    if (!ctx.alive()) return;
    grid.removeAttribute('aria-busy');
    // totalExact is false when a search has more matches than are ranked: the total is an estimate.
    const about = result.totalExact === false ? 'about ' : '';
    count.textContent = result.total === 1 ? '1 product' : `${about}${result.total} products`;
    if (!result.items.length) {
      replace(grid, h('li', { class: 'notice', testid: 'no-results' },
        q ? `Nothing matches “${q}”. Try another word.` : 'No products here yet.'));
    } else {
      replace(grid, result.items.map(productCard));
    }
    replace(pagerBox, pager(result, (p) => ctx.hashFor(base, { q, sort, page: p })));
  } catch (err) {
    if (!ctx.alive()) return;
    grid.removeAttribute('aria-busy');
    replace(grid);
    count.textContent = '';
    showError(error, err, { session, form, aliases: { search: 'q', categorySlug: 'q' } });
  }
}
