// Home: categories and the newest products.

import { getCategories, getProducts } from '../api.js';
import { alertRegion, h, replace, showError, skeletonCards } from '../dom.js';
import { placeholderImage } from '../placeholder.js';
import { pluginOn } from '../plugins-ui.js';
import { session } from '../session.js';
import { productCard } from './components.js';

const FEATURED = 8;

export function categoryTiles(categories) {
  return categories.map((c) => h('a', { class: 'cat-tile', href: `#/c/${encodeURIComponent(c.slug)}`, testid: 'category-link', dataset: { slug: c.slug } },
    h('img', { src: placeholderImage(c.slug, c.name, { label: false }), alt: '', width: 400, height: 300 }),
    h('span', null, c.name)));
}

export async function render(main, ctx) {
  ctx.setTitle('');
  if (!pluginOn('catalog')) {
    // No catalogue in this shop: a home page that says what there is, not a broken grid.
    replace(main, h('section', { class: 'section notice', testid: 'home-no-catalog' },
      h('h1', null, 'Welcome to the shop'),
      h('p', null, 'The catalogue is not available right now.'),
      pluginOn('wallet') ? h('a', { href: '#/wallet' }, 'Go to your wallet') : null));
    return;
  }
  const catBox = h('div', { class: 'cat-grid', testid: 'category-list', 'aria-busy': 'true' },
    Array.from({ length: 6 }, () => h('div', { class: 'skeleton skeleton-tile', 'aria-hidden': 'true' })));
  const grid = h('ul', { class: 'product-grid', testid: 'featured-products', 'aria-busy': 'true' }, skeletonCards(FEATURED));
  const catError = alertRegion('categories-error');
  const prodError = alertRegion('products-error');
  replace(main,
    h('section', { class: 'section', 'aria-labelledby': 'home-title' },
      h('h1', { id: 'home-title' }, 'Welcome to the shop'),
      h('p', { class: 'muted' }, 'Browse by category, or search for something specific.'),
      h('h2', null, 'Categories'), catError, catBox),
    h('section', { class: 'section', 'aria-labelledby': 'featured-title' },
      h('div', { class: 'page-head' }, h('h2', { id: 'featured-title' }, 'New arrivals'),
        h('a', { href: '#/products' }, 'See all products')),
      prodError, grid));

  const cats = getCategories().then((categories) => {
    if (!ctx.alive()) return;
    catBox.removeAttribute('aria-busy');
    if (!categories.length) replace(catBox, h('p', { class: 'muted' }, 'No categories yet.'));
    else replace(catBox, categoryTiles(categories));
  }).catch((err) => {
    if (!ctx.alive()) return;
    replace(catBox);
    showError(catError, err, { session });
  });
  const prods = getProducts({ page: 1, pageSize: FEATURED, sort: 'newest' }).then((page) => {
    if (!ctx.alive()) return;
    grid.removeAttribute('aria-busy');
    if (!page.items.length) replace(grid, h('li', { class: 'notice' }, 'No products yet.'));
    else replace(grid, page.items.map(productCard));
  }).catch((err) => {
    if (!ctx.alive()) return;
    replace(grid);
    showError(prodError, err, { session });
  });
  await Promise.all([cats, prods]);
}
