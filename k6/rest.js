// Functional checks of every public REST endpoint (docs: k6/README.md).
//
// Two scenarios run side by side:
//   catalog: VUS virtual users reading the catalog with an integrator's client_credentials token,
//            plus the authentication and validation error cases (stateless, safe in parallel);
//   shopper: ONE virtual user running the stateful shopper journey (wallet, cart, checkout, orders,
//            idempotency, transfers) as USER1, ITERATIONS times; one VU because a user has one cart.
// Any failed check or any 5xx fails the run (thresholds), so k6 exits non-zero.
import { group } from 'k6';
import { intEnv } from './lib/env.js';
import { allTokens } from './lib/auth.js';
import { expect, facetOptionsText, isPage, optionsText, problem, status } from './lib/checks.js';
import { createFixturesRest, idemKey, unknownId } from './lib/fixtures.js';
import { del, get, json, post, put, request, THRESHOLDS, withQuery } from './lib/http.js';

export const options = {
  scenarios: {
    catalog: { executor: 'shared-iterations', exec: 'catalog', vus: intEnv('VUS', 2),
      iterations: intEnv('CATALOG_ITERATIONS', intEnv('VUS', 2) * 2), maxDuration: '60s' },
    shopper: { executor: 'shared-iterations', exec: 'shopper', vus: 1, iterations: intEnv('ITERATIONS', 1),
      maxDuration: '120s' },
  },
  thresholds: THRESHOLDS,
  setupTimeout: '60s',
};

export function setup() {
  const tokens = allTokens(__ENV);
  const fx = createFixturesRest(tokens.admin);
  return { tokens, fx };
}

// ---------------------------------------------------------------- catalog and error cases

export function catalog({ tokens, fx }) {
  const t = { token: tokens.catalog };
  const slug = fx.category.slug;

  group('categories', () => {
    const r = get('/api/categories', t);
    status(r, 200, 'GET /api/categories');
    const cats = json(r) || [];
    expect(cats, 'categories: list includes the run\'s category with id/slug/name', (c) =>
      c.some((x) => x.id === fx.category.id && x.slug === slug && x.name === fx.category.name));
  });

  group('products by category, paginated', () => {
    const seen = new Set();
    for (const page of [1, 2, 3]) {
      const r = get(withQuery('/api/products', { category: slug, page, pageSize: 2 }), t);
      status(r, 200, `GET /api/products?category page ${page}`);
      const p = json(r);
      expect(p, `products page ${page}: page shape`, (x) => isPage(x, page, 2) && x.total === 5);
      expect(p, `products page ${page}: ${page < 3 ? 2 : 1} item(s)`, (x) => x.items.length === (page < 3 ? 2 : 1));
      expect(p, `products page ${page}: all in the category`, (x) => x.items.every((i) => i.categorySlug === slug
        && i.categoryId === fx.category.id));
      (p && p.items ? p.items : []).forEach((i) => seen.add(i.slug));
    }
    expect(seen, 'products: the three pages hold the five products, no repeats', (s) =>
      s.size === 5 && Object.values(fx.products).every((x) => s.has(x.slug)));
    const r = get(withQuery('/api/products', { category: slug, page: 9, pageSize: 2 }), t);
    expect(json(r), 'products: a page past the end is empty with the total', (x) =>
      r.status === 200 && x.items.length === 0 && x.total === 5);
  });

  group('products search', () => {
    const r = get(withQuery('/api/products', { search: fx.marker }), t);
    status(r, 200, 'GET /api/products?search');
    const p = json(r);
    expect(p, 'search: finds exactly the two products named with the marker', (x) =>
      x.total === 2 && x.items.map((i) => i.slug).sort().join() === [fx.products.widget.slug, fx.otherProduct.slug]
        .sort().join());
    const both = get(withQuery('/api/products', { search: fx.marker, category: slug }), t);
    expect(json(both), 'search within a category: only that category', (x) =>
      x.total === 1 && x.items[0].slug === fx.products.widget.slug);
  });

  group('product by slug', () => {
    const w = fx.products.widget;
    const r = get(`/api/products/${w.slug}`, t);
    status(r, 200, 'GET /api/products/{slug}');
    expect(json(r), 'product: every field of the contract', (p) => p.id === w.id && p.slug === w.slug
      && p.name === w.name && typeof p.description === 'string' && p.categoryId === fx.category.id
      && p.categorySlug === fx.category.slug && p.priceMinor === 1250 && p.currency === 'EUR'
      && Number.isInteger(p.stockQty));
    problem(get(`/api/products/${fx.category.slug}-no-such-thing`, t), 404, 'unknown product', { code: 'NOT_FOUND' });
  });

  group('variants, filters and facets', () => {
    const shelf = fx.shelf.slug;
    const tee = json(get(`/api/products/${fx.tee.slug}`, t)) || {};
    expect(tee, 'variant product: lowest price, summed stock, options union, every variant', (p) =>
      // (the shopper scenario buys and returns M/Navy meanwhile: compare stock with the variants' sum)
      p.priceMinor === 1800 && p.currency === 'EUR' && p.variants.length === 3
      && p.stockQty === p.variants.reduce((n, v) => n + v.stockQty, 0)
      && optionsText(p.options) === 'size:S|M;colour:Navy|Sand'
      && p.variants.every((v) => typeof v.id === 'string' && typeof v.sku === 'string' && v.currency === 'EUR'));
    const mug = json(get(`/api/products/${fx.mug.slug}`, t)) || {};
    expect(mug, 'single-variant product: one default variant with its id and slug', (p) => p.variants.length === 1
      && p.variants[0].id === p.id && p.variants[0].sku === p.slug && Object.keys(p.variants[0].options).length === 0);
    let r = get(withQuery('/api/products', { category: shelf }), t);
    status(r, 200, 'GET /api/products (facets)');
    expect(json(r), 'facets: categories, options and price of the whole shelf', (x) => x.total === 2
      && x.facets.categories.length === 1 && x.facets.categories[0].count === 2
      && facetOptionsText(x.facets) === 'colour:Navy=1|Sand=1;size:M=1|S=1'
      && x.facets.price.min === 900 && x.facets.price.max === 2200 && x.facets.price.currency === 'EUR');
    r = get(`/api/products?category=${shelf}&option.size=M&inStock=true`, t);
    status(r, 200, 'GET /api/products?option.size&inStock');
    expect(json(r), 'filters: an M in stock is only the tee, and only M/Navy counts', (x) => x.total === 1
      && x.items[0].id === fx.tee.id
      && facetOptionsText(x.facets) === 'colour:Navy=1;size:M=1'
      && x.facets.price.min === 2200 && x.facets.price.max === 2200);
    r = get(`/api/products?category=${shelf}&option.colour=Sand&option.colour=Navy&maxPrice=1999`, t);
    expect(json(r), 'filters: values of one option OR, price range on any variant', (x) => r.status === 200
      && x.total === 1 && x.items[0].id === fx.tee.id);
    r = get(withQuery('/api/products', { category: shelf, inStock: 'true', minPrice: 2100 }), t);
    expect(json(r), 'filters: in stock at 21.00 or more', (x) => r.status === 200 && x.total === 1);
    r = get(withQuery('/api/products', { category: shelf, displayCurrency: 'USD', sort: 'price_desc' }), t);
    status(r, 200, 'GET /api/products?displayCurrency');
    expect(json(r), 'display currency: converted prices, sorted by them', (x) => x.items.length === 2
      && x.items.every((i) => i.displayCurrency === 'USD' && Number.isInteger(i.displayPriceMinor))
      && x.items[0].id === fx.tee.id && x.items[0].displayPriceMinor === 1957 // 18.00 EUR * 1.087, half-even
      && x.facets.price.currency === 'USD');
    problem(get(withQuery('/api/products', { minPrice: -1 }), t), [400, 422], 'negative minPrice',
      { code: 'INVALID_ARGUMENT', field: 'minPrice' });
    problem(get(withQuery('/api/products', { inStock: 'maybe' }), t), [400, 422], 'inStock not a boolean',
      { code: 'INVALID_ARGUMENT', field: 'inStock' });
    problem(get('/api/products?option.size=', t), [400, 422], 'empty option value',
      { code: 'INVALID_ARGUMENT', field: 'options[0].value' });
    problem(get(withQuery('/api/products', { displayCurrency: 'XYZ' }), t), [400, 422], 'unknown display currency',
      { code: 'INVALID_ARGUMENT', field: 'displayCurrency' });
  });

  group('catalog validation', () => {
    problem(get(withQuery('/api/products', { pageSize: 1000 }), t), [400, 422], 'pageSize above 100',
      { code: 'INVALID_ARGUMENT', field: 'pageSize' });
    problem(get(withQuery('/api/products', { page: 0 }), t), [400, 422], 'page 0',
      { code: 'INVALID_ARGUMENT', field: 'page' });
    problem(get(withQuery('/api/products', { page: 'abc' }), t), [400, 422], 'page not a number',
      { code: 'INVALID_ARGUMENT', field: 'page' });
  });

  group('authentication errors', () => {
    problem(get('/api/cart'), 401, 'cart without a token', { code: 'UNAUTHENTICATED' });
    problem(get('/api/wallets'), 401, 'wallets without a token', { code: 'UNAUTHENTICATED' });
    problem(get('/api/orders'), 401, 'orders without a token', { code: 'UNAUTHENTICATED' });
    problem(post('/api/orders/checkout', { walletCurrency: 'EUR' }), 401, 'checkout without a token',
      { code: 'UNAUTHENTICATED' });
    problem(post('/api/wallets/top-up', { currency: 'EUR', amountMinor: 100 }), 401, 'top-up without a token',
      { code: 'UNAUTHENTICATED' });
    problem(get('/api/me'), 401, 'me without a token', { code: 'UNAUTHENTICATED' });
    problem(get('/api/cart', { token: 'not-a-jwt' }), 401, 'cart with a garbage token', { code: 'UNAUTHENTICATED' });
    // A client_credentials token has no user and only catalog:read.
    status(get('/api/cart', t), [401, 403], 'cart with a catalog-only client token');
    status(post('/api/admin/categories', { slug: 'k6-nope', name: 'nope' }, { token: tokens.user2 }), 403,
      'admin write by a shopper');
  });
}

// ---------------------------------------------------------------- the shopper journey

function balance(token, currency) {
  const r = get('/api/wallets', { token });
  const ws = json(r) || [];
  const w = ws.find((x) => x.currency === currency);
  return w ? w.balanceMinor : 0;
}

function stock(token, slug) {
  const p = json(get(`/api/products/${slug}`, { token })) || {};
  return p.stockQty;
}

function emptyCart(token) {
  const cart = json(get('/api/cart', { token })) || { items: [] };
  for (const line of cart.items || []) del(`/api/cart/items/${line.productId}`, { token, tags: { name: 'cart-item' } });
}

function line(cart, productId) {
  return ((cart && cart.items) || []).find((l) => l.productId === productId);
}

function total(cart, currency) {
  const t = ((cart && cart.totals) || []).find((x) => x.currency === currency);
  return t ? t.amountMinor : 0;
}

export function shopper({ tokens, fx }) {
  const u1 = { token: tokens.user1 };
  const u2 = { token: tokens.user2 };
  const { widget, gadget, scarce, pricey } = fx.products;
  emptyCart(tokens.user1);

  group('me', () => {
    const r = get('/api/me', u1);
    status(r, 200, 'GET /api/me');
    expect(json(r), 'me: the signed-in user', (m) => m.email === tokens.user1Email && typeof m.id === 'string'
      && Array.isArray(m.roles) && typeof m.createdAt === 'string');
  });

  let bal = 0;
  group('wallets: list and top-up (idempotent)', () => {
    const list = get('/api/wallets', u1);
    status(list, 200, 'GET /api/wallets');
    expect(json(list), 'wallets: a list of {id, currency, balanceMinor}', (ws) => Array.isArray(ws)
      && ws.every((w) => typeof w.id === 'string' && /^[A-Z]{3}$/.test(w.currency) && Number.isInteger(w.balanceMinor)));
    const before = balance(tokens.user1, 'EUR');
    const key = idemKey('topup');
    const body = { currency: 'EUR', amountMinor: 50000 };
    const r = post('/api/wallets/top-up', body, { token: tokens.user1, headers: { 'Idempotency-Key': key } });
    status(r, [200, 201], 'POST /api/wallets/top-up');
    expect(json(r), 'top-up: wallet with the new balance', (w) => w.currency === 'EUR'
      && w.balanceMinor === before + 50000);
    const again = post('/api/wallets/top-up', body, { token: tokens.user1, headers: { 'Idempotency-Key': key } });
    expect(again, 'top-up replay: same answer', (x) => x.status === r.status && json(x).balanceMinor === before + 50000);
    bal = balance(tokens.user1, 'EUR');
    expect(bal, 'top-up replay: money added once', (b) => b === before + 50000);
    problem(post('/api/wallets/top-up', { currency: 'EUR', amountMinor: -5 }, u1), [400, 422],
      'top-up of a negative amount', { code: 'INVALID_ARGUMENT', field: 'amountMinor' });
    problem(post('/api/wallets/top-up', { currency: 'euro', amountMinor: 100 }, u1), [400, 422],
      'top-up in a malformed currency', { code: 'INVALID_ARGUMENT', field: 'currency' });
    problem(post('/api/wallets/top-up', { currency: 'EUR' }, u1), [400, 422], 'top-up without an amount',
      { code: 'INVALID_ARGUMENT', field: 'amountMinor' });
    problem(post('/api/wallets/top-up', body, { token: tokens.user1, headers: { 'Idempotency-Key': key },
      raw: JSON.stringify({ currency: 'EUR', amountMinor: 50001 }) }), [409, 422],
    'same Idempotency-Key with another body');
    expect(balance(tokens.user1, 'EUR'), 'refused replay moved nothing', (b) => b === bal);
  });

  group('cart: add, set, remove, totals', () => {
    let r = post('/api/cart/items', { productId: widget.id, qty: 2 }, u1);
    status(r, 200, 'POST /api/cart/items');
    let cart = json(r);
    expect(cart, 'cart: the added line, priced', (c) => {
      const l = line(c, widget.id);
      return typeof c.id === 'string' && l.qty === 2 && l.slug === widget.slug && l.name === widget.name
        && l.unitPriceMinor === 1250 && l.currency === 'EUR' && l.lineTotalMinor === 2500;
    });
    cart = json(post('/api/cart/items', { productId: widget.id, qty: 1 }, u1));
    expect(cart, 'cart: adding again adds to the quantity', (c) => line(c, widget.id).qty === 3);
    r = put(`/api/cart/items/${widget.id}`, { qty: 2 }, u1);
    status(r, 200, 'PUT /api/cart/items/{id}');
    expect(json(r), 'cart: PUT sets the quantity', (c) => line(c, widget.id).qty === 2);
    cart = json(post('/api/cart/items', { productId: gadget.id, qty: 1 }, u1));
    expect(cart, 'cart: totals per currency', (c) => c.items.length === 2 && total(c, 'EUR') === 2500 + 799
      && c.totals.length === 1);
    r = del(`/api/cart/items/${gadget.id}`, u1);
    status(r, 200, 'DELETE /api/cart/items/{id}');
    expect(json(r), 'cart: DELETE removes the line', (c) => !line(c, gadget.id) && total(c, 'EUR') === 2500);
    put(`/api/cart/items/${gadget.id}`, { qty: 4 }, u1);
    expect(json(put(`/api/cart/items/${gadget.id}`, { qty: 0 }, u1)), 'cart: PUT qty 0 removes the line',
      (c) => !line(c, gadget.id));
    r = get('/api/cart', u1);
    status(r, 200, 'GET /api/cart');
    expect(json(r), 'cart: GET shows one line and its total', (c) => c.items.length === 1 && total(c, 'EUR') === 2500);

    problem(post('/api/cart/items', { productId: unknownId(), qty: 1 }, u1), 404, 'add an unknown product',
      { code: 'NOT_FOUND' });
    problem(post('/api/cart/items', { productId: widget.id, qty: 0 }, u1), [400, 422], 'add qty 0',
      { code: 'INVALID_ARGUMENT', field: 'qty' });
    problem(post('/api/cart/items', { productId: widget.id }, u1), [400, 422], 'add without qty',
      { code: 'INVALID_ARGUMENT', field: 'qty' });
    problem(post('/api/cart/items', { productId: widget.id, qty: '2' }, u1), [400, 422], 'add qty as a string',
      { code: 'INVALID_ARGUMENT', field: 'qty' });
    problem(post('/api/cart/items', null, Object.assign({ raw: '{"productId": ' }, u1)), [400, 422],
      'malformed JSON body', { code: 'INVALID_ARGUMENT' });
    problem(post('/api/cart/items', null, Object.assign({ raw: '[1, 2]' }, u1)), [400, 422], 'JSON that is not an object',
      { code: 'INVALID_ARGUMENT' });
    expect(json(get('/api/cart', u1)), 'cart: refused changes changed nothing', (c) => c.items.length === 1
      && line(c, widget.id).qty === 2);
  });

  let order = null;
  group('checkout with wallet (idempotent)', () => {
    const stockBefore = stock(tokens.user1, widget.slug);
    const key = idemKey('checkout');
    const opts = { token: tokens.user1, headers: { 'Idempotency-Key': key } };
    const r = post('/api/orders/checkout', { walletCurrency: 'EUR' }, opts);
    status(r, 201, 'POST /api/orders/checkout');
    order = json(r) || {};
    expect(order, 'order: paid by wallet, priced like the cart', (o) => typeof o.id === 'string' && o.status === 'paid'
      && o.totalMinor === 2500 && o.currency === 'EUR' && o.paymentMethod === 'wallet'
      && typeof o.createdAt === 'string' && o.items.length === 1 && o.items[0].productId === widget.id
      && o.items[0].qty === 2 && o.items[0].unitPriceMinor === 1250 && o.items[0].currency === 'EUR');
    const replay = post('/api/orders/checkout', { walletCurrency: 'EUR' }, opts);
    expect(replay, 'checkout replay: same order id', (x) => x.status === 201 && json(x).id === order.id);
    expect(balance(tokens.user1, 'EUR'), 'checkout: charged exactly once', (b) => b === bal - 2500);
    expect(stock(tokens.user1, widget.slug), 'checkout: stock taken once', (s) => s === stockBefore - 2);
    expect(json(get('/api/cart', u1)), 'checkout: the cart is empty afterwards', (c) => c.items.length === 0);
    problem(post('/api/orders/checkout', { walletCurrency: 'USD' }, opts), [409, 422],
      'checkout: same key, other body');
  });

  group('orders: history, by id, cancel', () => {
    const r = get(withQuery('/api/orders', { page: 1, pageSize: 5 }), u1);
    status(r, 200, 'GET /api/orders');
    expect(json(r), 'orders: a page, newest first, ours on top', (p) => isPage(p, 1, 5) && p.total >= 1
      && p.items[0].id === order.id && p.items.every((o, i) => i === 0 || p.items[i - 1].createdAt >= o.createdAt));
    const one = get(`/api/orders/${order.id}`, { token: tokens.user1, tags: { name: '/api/orders/{id}' } });
    status(one, 200, 'GET /api/orders/{id}');
    expect(json(one), 'order by id: the same order', (o) => o.id === order.id && o.totalMinor === 2500);
    problem(get(`/api/orders/${order.id}`, { token: tokens.user2, tags: { name: '/api/orders/{id}' } }), 404,
      'another user\'s order is not found', { code: 'NOT_FOUND' });
    problem(get(`/api/orders/${unknownId()}`, { token: tokens.user1, tags: { name: '/api/orders/{id}' } }), 404,
      'unknown order', { code: 'NOT_FOUND' });

    const stockBefore = stock(tokens.user1, widget.slug);
    const key = idemKey('cancel');
    const c = post(`/api/orders/${order.id}/cancel`, null, { token: tokens.user1,
      headers: { 'Idempotency-Key': key }, tags: { name: '/api/orders/{id}/cancel' } });
    status(c, 200, 'POST /api/orders/{id}/cancel');
    expect(json(c), 'cancel: refunded', (o) => o.id === order.id && o.status === 'refunded');
    expect(balance(tokens.user1, 'EUR'), 'cancel: balance restored', (b) => b === bal);
    expect(stock(tokens.user1, widget.slug), 'cancel: stock restored', (s) => s === stockBefore + 2);
    const replay = post(`/api/orders/${order.id}/cancel`, null, { token: tokens.user1,
      headers: { 'Idempotency-Key': key }, tags: { name: '/api/orders/{id}/cancel' } });
    expect(replay, 'cancel replay: same answer, refunded once', (x) => x.status === 200
      && json(x).status === 'refunded' && balance(tokens.user1, 'EUR') === bal);
    problem(post(`/api/orders/${order.id}/cancel`, null, { token: tokens.user1,
      tags: { name: '/api/orders/{id}/cancel' } }), 409, 'cancel twice', { code: 'FAILED_PRECONDITION' });
    problem(post(`/api/orders/${order.id}/cancel`, null, { token: tokens.user2,
      tags: { name: '/api/orders/{id}/cancel' } }), 404, 'cancel another user\'s order', { code: 'NOT_FOUND' });
  });

  group('checkout refusals move nothing', () => {
    problem(post('/api/orders/checkout', { walletCurrency: 'EUR' }, u1), 409, 'checkout of an empty cart',
      { code: 'FAILED_PRECONDITION', reason: 'CART_EMPTY' });

    const scarceBefore = stock(tokens.user1, scarce.slug);
    post('/api/cart/items', { productId: scarce.id, qty: 2 }, u1);
    problem(post('/api/orders/checkout', { walletCurrency: 'EUR' }, u1), 409, 'checkout beyond the stock',
      { code: 'FAILED_PRECONDITION', reason: 'OUT_OF_STOCK' });
    expect(stock(tokens.user1, scarce.slug), 'out of stock: stock unchanged', (s) => s === scarceBefore);
    del(`/api/cart/items/${scarce.id}`, u1);

    post('/api/cart/items', { productId: pricey.id, qty: 1 }, u1);
    const priceyBefore = stock(tokens.user1, pricey.slug);
    problem(post('/api/orders/checkout', { walletCurrency: 'EUR' }, u1), 409, 'checkout beyond the balance',
      { code: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_FUNDS' });
    expect(balance(tokens.user1, 'EUR'), 'insufficient funds: balance unchanged', (b) => b === bal);
    expect(stock(tokens.user1, pricey.slug), 'insufficient funds: stock unchanged', (s) => s === priceyBefore);
    problem(post('/api/orders/checkout', { walletCurrency: 'eur' }, u1), [400, 422], 'checkout in a bad currency',
      { code: 'INVALID_ARGUMENT', field: 'walletCurrency' });
    expect(json(get('/api/cart', u1)), 'refused checkout keeps the cart', (c) => line(c, pricey.id).qty === 1);
    emptyCart(tokens.user1);
  });

  group('checkout by card (test gateway)', () => {
    const card = { number: '4242424242424242', expMonth: 12, expYear: 2035, cvc: '123' };
    post('/api/cart/items', { productId: gadget.id, qty: 1 }, u1);
    const declined = post('/api/orders/checkout', { card: Object.assign({}, card, { number: '4000000000000002' }),
      currency: 'EUR' }, u1);
    problem(declined, 409, 'declined card', { code: 'FAILED_PRECONDITION', reason: 'CARD_DECLINED' });
    const r = post('/api/orders/checkout', { card, currency: 'EUR' },
      { token: tokens.user1, headers: { 'Idempotency-Key': idemKey('card') } });
    status(r, 201, 'POST /api/orders/checkout (card)');
    expect(json(r), 'card order: paid, only brand and last 4 kept', (o) => o.status === 'paid'
      && o.paymentMethod === 'card' && o.totalMinor === 799 && o.cardLast4 === '4242'
      && !String(r.body).includes('4242424242424242'));
    expect(balance(tokens.user1, 'EUR'), 'card order: the wallet is untouched', (b) => b === bal);
  });

  group('checkout by card through a payment intent (token, no card data)', () => {
    post('/api/cart/items', { productId: gadget.id, qty: 1 }, u1);
    const r = post('/api/orders/checkout', { paymentMethod: 'card', currency: 'EUR' }, u1);
    status(r, 201, 'POST /api/orders/checkout (payment intent)');
    const order = json(r);
    expect(order, 'card order awaits payment with an intent', (o) => o.status === 'awaiting_payment'
      && o.payment && o.payment.provider === 'test' && !!o.payment.clientSecret);
    const t = post('/test-provider/tokens', { number: '4242424242424242', expMonth: 12, expYear: 2035, cvc: '123' }, {});
    status(t, 200, 'POST /test-provider/tokens');
    const c = post(`/api/payments/${order.payment.id}/confirm`, { paymentToken: json(t).token }, u1);
    status(c, 200, 'POST /api/payments/{id}/confirm');
    expect(json(c), 'confirmed payment succeeded', (p) => p.status === 'succeeded' && p.last4 === '4242');
    expect(json(get(`/api/orders/${order.id}`, u1)), 'the order is paid', (o) => o.status === 'paid');
  });

  group('wallets: transfer and transactions', () => {
    const theirs = balance(tokens.user2, 'EUR');
    const r = post('/api/wallets/transfer', { toEmail: tokens.user2Email, currency: 'EUR', amountMinor: 1000 },
      { token: tokens.user1, headers: { 'Idempotency-Key': idemKey('transfer') } });
    status(r, [200, 201], 'POST /api/wallets/transfer');
    expect(json(r), 'transfer: result with the sender\'s new balance', (x) => typeof x.id === 'string'
      && x.amountMinor === 1000 && x.currency === 'EUR' && x.toEmail === tokens.user2Email
      && x.balanceMinor === bal - 1000);
    expect(balance(tokens.user2, 'EUR'), 'transfer: the recipient got it', (b) => b === theirs + 1000);
    problem(post('/api/wallets/transfer', { toEmail: tokens.user2Email, currency: 'EUR', amountMinor: bal + 1 }, u1),
      409, 'transfer beyond the balance', { code: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_FUNDS' });
    problem(post('/api/wallets/transfer', { toEmail: tokens.user2Email, currency: 'EUR', amountMinor: 0 }, u1),
      [400, 422], 'transfer of zero', { code: 'INVALID_ARGUMENT', field: 'amountMinor' });
    expect(balance(tokens.user1, 'EUR'), 'refused transfers moved nothing', (b) => b === bal - 1000);

    const tx = get(withQuery('/api/wallets/EUR/transactions', { page: 1, pageSize: 10 }), u1);
    status(tx, 200, 'GET /api/wallets/{currency}/transactions');
    expect(json(tx), 'transactions: newest first, the journey is on the ledger', (p) => {
      const kinds = p.items.map((e) => e.kind);
      return isPage(p, 1, 10) && p.items[0].kind === 'transfer_out' && p.items[0].amountMinor === -1000
        && kinds.includes('refund') && kinds.includes('payment') && kinds.includes('topup')
        && p.items.every((e) => e.currency === 'EUR' && Number.isInteger(e.amountMinor));
    });
    const theirTx = json(get(withQuery('/api/wallets/EUR/transactions', { pageSize: 1 }), u2));
    expect(theirTx, 'transactions: the recipient sees transfer_in', (p) => p.items[0].kind === 'transfer_in'
      && p.items[0].amountMinor === 1000);
    problem(get('/api/wallets/euro/transactions', u1), [400, 422], 'transactions of a malformed currency',
      { code: 'INVALID_ARGUMENT', field: 'currency' });
  });

  group('cart and checkout by variant', () => {
    const [mNavy] = fx.teeVariants;
    const tee = fx.tee;
    problem(post('/api/cart/items', { productId: tee.id, qty: 1 }, u1), [400, 422], 'add a product with variants',
      { code: 'INVALID_ARGUMENT', field: 'variantId' });
    let r = post('/api/cart/items', { productId: tee.id, variantId: mNavy.id, qty: 1 }, u1);
    status(r, 200, 'POST /api/cart/items with variantId');
    expect(json(r), 'cart: the line names variant, SKU and options', (c) => c.items.length === 1
      && c.items[0].variantId === mNavy.id && c.items[0].sku === mNavy.sku && c.items[0].options.size === 'M'
      && c.items[0].unitPriceMinor === 2200);
    r = put(`/api/cart/variants/${mNavy.id}`, { qty: 2 }, { token: tokens.user1, tags: { name: '/api/cart/variants/{id}' } });
    status(r, 200, 'PUT /api/cart/variants/{id}');
    expect(json(r), 'cart: PUT by variant sets the quantity', (c) => c.items[0].qty === 2);
    problem(put(`/api/cart/items/${tee.id}`, { qty: 1 }, u1), [400, 422], 'PUT by product with several variants',
      { code: 'INVALID_ARGUMENT', field: 'variantId' });
    r = del(`/api/cart/variants/${tee.id}`, { token: tokens.user1, tags: { name: '/api/cart/variants/{id}' } });
    status(r, 200, 'DELETE /api/cart/variants/{id}');
    const before = (json(get(`/api/products/${tee.slug}`, u1)) || { variants: [] }).variants;
    const card = { number: '4242424242424242', expMonth: 12, expYear: 2035, cvc: '123' };
    r = post('/api/orders/checkout', { card, currency: 'EUR' },
      { token: tokens.user1, headers: { 'Idempotency-Key': idemKey('variant') } });
    status(r, 201, 'checkout of a variant line');
    expect(json(r), 'order: the item names the variant', (o) => o.items.length === 1 && o.items[0].variantId === mNavy.id
      && o.items[0].sku === mNavy.sku && o.items[0].options.colour === 'Navy' && o.totalMinor === 4400);
    const after = (json(get(`/api/products/${tee.slug}`, u1)) || { variants: [] }).variants;
    expect(after, 'checkout: only that variant\'s stock moved', (vs) => vs.every((v) => {
      const old = before.find((b) => b.id === v.id);
      return old && v.stockQty === old.stockQty - (v.id === mNavy.id ? 2 : 0);
    }));
    const order = json(r) || {};
    post(`/api/orders/${order.id}/cancel`, null, { token: tokens.user1, tags: { name: '/api/orders/{id}/cancel' } });
  });

  group('admin: variants', () => {
    const a = { token: tokens.admin };
    const cat = json(post('/api/admin/categories', { slug: `${fx.shelf.slug}-admin-${__ITER}`, name: 'k6 admin' }, a));
    const p = json(post('/api/admin/products', { slug: `${fx.shelf.slug}-hoodie-${__ITER}`, name: 'Hoodie',
      categoryId: cat.id, priceMinor: 4000, currency: 'EUR', stockQty: 2 }, a));
    let r = post(`/api/admin/products/${p.id}/variants`, { sku: `${p.slug}-xl`, options: { size: 'XL' },
      priceMinor: 4500, currency: 'EUR', stockQty: 1 }, { token: tokens.admin, tags: { name: '/api/admin/products/{id}/variants' } });
    status(r, 201, 'POST /api/admin/products/{id}/variants');
    const v = json(r) || {};
    expect(v, 'variant: created as sent', (x) => x.sku === `${p.slug}-xl` && x.options.size === 'XL'
      && x.priceMinor === 4500 && x.stockQty === 1);
    const vt = { token: tokens.admin, tags: { name: '/api/admin/variants/{id}' } };
    r = put(`/api/admin/variants/${v.id}/price`, { priceMinor: 3500, currency: 'EUR' }, vt);
    status(r, 200, 'PUT /api/admin/variants/{id}/price');
    r = put(`/api/admin/variants/${v.id}/stock`, { stockQty: 7 }, vt);
    status(r, 200, 'PUT /api/admin/variants/{id}/stock');
    r = request('PATCH', `/api/admin/variants/${v.id}`, { options: { size: 'XXL' } }, vt);
    status(r, 200, 'PATCH /api/admin/variants/{id}');
    expect(json(get(`/api/products/${p.slug}`, a)), 'product: lowest price and summed stock follow', (x) =>
      x.priceMinor === 3500 && x.stockQty === 9 && x.options[0].values.join() === 'XXL');
    problem(put(`/api/admin/products/${p.id}/price`, { priceMinor: 1, currency: 'EUR' }, a), 409,
      'product price with several variants', { code: 'FAILED_PRECONDITION', reason: 'HAS_VARIANTS' });
    problem(post(`/api/admin/products/${p.id}/variants`, { sku: 'bad sku', priceMinor: 1, currency: 'EUR' }, a),
      [400, 422], 'variant with a bad SKU', { code: 'INVALID_ARGUMENT', field: 'sku' });
    problem(put(`/api/admin/variants/${v.id}/stock`, { stockQty: 1 }, { token: tokens.user2, tags: vt.tags }), 403,
      'variant stock by a shopper');
    r = del(`/api/admin/variants/${v.id}`, vt);
    status(r, 200, 'DELETE /api/admin/variants/{id}');
    problem(del(`/api/admin/variants/${p.id}`, vt), 409, 'delete the last variant',
      { code: 'FAILED_PRECONDITION', reason: 'LAST_VARIANT' });
    del(`/api/admin/products/${p.id}`, { token: tokens.admin, tags: { name: '/api/admin/products/{id}' } });
    del(`/api/admin/categories/${cat.id}`, { token: tokens.admin, tags: { name: '/api/admin/categories/{id}' } });
  });

  group('fulfilment: addresses, shipping, tax, admin orders', () => {
    const a = { token: tokens.admin };
    // Luxembourg is the run's shipping zone (a country is in one zone: reuse it on later iterations).
    const zones = get('/api/admin/shipping-zones', a);
    status(zones, 200, 'GET /api/admin/shipping-zones');
    let zone = (json(zones) || []).find((z) => z.countries.includes('LU'));
    if (!zone) {
      const r = post('/api/admin/shipping-zones', { name: 'k6 Luxembourg', countries: ['LU'] }, a);
      status(r, 201, 'POST /api/admin/shipping-zones');
      zone = json(r) || { id: unknownId, methods: [] };
    }
    const zt = { token: tokens.admin, tags: { name: '/api/admin/shipping-zones/{id}/methods' } };
    let r = post(`/api/admin/shipping-zones/${zone.id}/methods`, { name: `k6 post ${__ITER}`,
      prices: [{ currency: 'EUR', priceMinor: 300 }] }, zt);
    status(r, 201, 'POST /api/admin/shipping-zones/{id}/methods');
    const method = ((json(r) || {}).methods || []).find((m) => m.name === `k6 post ${__ITER}`) || { id: unknownId };
    const rt = { token: tokens.admin, tags: { name: '/api/admin/tax-rates/{country}' } };
    status(put('/api/admin/tax-rates/LU', { rate: '17', inclusive: false }, rt), 200, 'PUT /api/admin/tax-rates/{country}');
    expect(json(get('/api/admin/tax-rates', a)), 'tax rates: LU at exactly "17", exclusive', (l) =>
      Array.isArray(l) && l.some((t) => t.country === 'LU' && t.rate === '17' && t.inclusive === false));
    problem(put('/api/admin/tax-rates/LU', { rate: '17.5%' }, rt), 400, 'tax rate: not a decimal');
    problem(get('/api/admin/shipping-zones', u1), 403, 'shipping admin by a shopper');

    r = get(withQuery('/api/shipping-methods', { country: 'LU', currency: 'EUR' }), u1);
    status(r, 200, 'GET /api/shipping-methods');
    expect(json(r), 'shipping methods: ours, priced in EUR', (l) => Array.isArray(l)
      && l.some((m) => m.id === method.id && m.priceMinor === 300 && m.currency === 'EUR'));
    problem(get(withQuery('/api/shipping-methods', { country: 'XX', currency: 'EUR' }), u1), 400,
      'shipping methods: not a country');

    r = post('/api/me/addresses', { name: 'K6 Shopper', line1: '1 Rue du Test', city: 'Luxembourg',
      postalCode: 'L-1111', country: 'LU' }, u1);
    status(r, 201, 'POST /api/me/addresses');
    const addr = json(r) || { id: unknownId };
    const at = { token: tokens.user1, tags: { name: '/api/me/addresses/{id}' } };
    r = request('PATCH', `/api/me/addresses/${addr.id}`, { line2: 'Floor 2' }, at);
    status(r, 200, 'PATCH /api/me/addresses/{id}');
    expect(json(get('/api/me/addresses', u1)), 'addresses: ours, changed', (l) => Array.isArray(l)
      && l.some((x) => x.id === addr.id && x.line2 === 'Floor 2' && x.country === 'LU'));
    problem(request('PATCH', `/api/me/addresses/${addr.id}`, { city: 'X' }, { token: tokens.user2, tags: at.tags }),
      404, "another user's address");
    problem(post('/api/me/addresses', { name: 'x', line1: 'x', city: 'x', country: 'QQ' }, u1), 400,
      'address: not a country');

    // 1250 + 300 shipping, 17% of 1550 = 263.5 -> 264 (half to even, once per order)
    emptyCart(tokens.user1);
    post('/api/wallets/top-up', { currency: 'EUR', amountMinor: 5000 }, u1);
    status(post('/api/cart/items', { productId: widget.id, qty: 1 }, u1), 200, 'cart: add for the shipped order');
    r = post('/api/orders/checkout', { walletCurrency: 'EUR', addressId: addr.id, shippingMethodId: method.id }, u1);
    status(r, 201, 'POST /api/orders/checkout with shipping');
    const order = json(r) || { id: unknownId };
    expect(order, 'shipped order: subtotal + shipping + tax = total', (o) => o.subtotalMinor === 1250
      && o.shippingMinor === 300 && o.taxMinor === 264 && o.totalMinor === 1814 && o.shippingAddress.city === 'Luxembourg'
      && o.shippingMethod.id === method.id && typeof o.updatedAt === 'string' && typeof o.paidAt === 'string');

    const ot = (name) => ({ token: tokens.admin, tags: { name } });
    r = post(`/api/admin/orders/${order.id}/fulfillments`, { carrier: 'Post', trackingNumber: `K6${__ITER}` },
      ot('/api/admin/orders/{id}/fulfillments'));
    status(r, 201, 'POST /api/admin/orders/{id}/fulfillments');
    expect(json(r), 'fulfilled, with its tracking number', (o) => o.status === 'fulfilled'
      && o.fulfillments.length === 1 && o.fulfillments[0].trackingNumber === `K6${__ITER}`);
    problem(post(`/api/orders/${order.id}/cancel`, null, { token: tokens.user1, tags: { name: '/api/orders/{id}/cancel' } }),
      409, 'a fulfilled order cannot be cancelled', { reason: 'ORDER_NOT_CANCELLABLE' });
    const rt2 = { token: tokens.admin, tags: { name: '/api/admin/orders/{id}/refunds' },
      headers: { 'Idempotency-Key': idemKey('refund') } };
    r = post(`/api/admin/orders/${order.id}/refunds`, { amountMinor: 814, reason: 'k6' }, rt2);
    status(r, 201, 'POST /api/admin/orders/{id}/refunds');
    expect(json(r), 'partially refunded', (o) => o.status === 'partially_refunded' && o.refundedMinor === 814);
    problem(post(`/api/admin/orders/${order.id}/refunds`, { amountMinor: 1001 }, ot('/api/admin/orders/{id}/refunds')),
      409, 'refund beyond what was paid', { reason: 'REFUND_EXCEEDS_PAID' });
    r = get(`/api/admin/orders/${order.id}`, ot('/api/admin/orders/{id}'));
    status(r, 200, 'GET /api/admin/orders/{id}');
    expect(json(r), 'admin order: with the email', (o) => o.email === tokens.user1Email && o.refunds.length === 1);
    r = get(withQuery('/api/admin/orders', { updatedSince: order.createdAt, pageSize: 100 }), a);
    status(r, 200, 'GET /api/admin/orders?updatedSince');
    expect(json(r), 'admin feed: newest-updated first, ours in it', (p) => isPage(p, 1, 100)
      && p.items.some((o) => o.id === order.id)
      && p.items.every((o, i) => i === 0 || p.items[i - 1].updatedAt >= o.updatedAt));
    problem(get(withQuery('/api/admin/orders', { updatedSince: 'yesterday' }), a), 400, 'admin feed: bad updatedSince');
    problem(get('/api/admin/orders', u1), 403, 'admin feed by a shopper');
    r = get(withQuery('/api/admin/customers', { pageSize: 100 }), a);
    status(r, 200, 'GET /api/admin/customers');
    expect(json(r), 'customers: a page with order counts', (p) => isPage(p, 1, 100)
      && p.items.every((c) => Number.isInteger(c.orderCount) && Array.isArray(c.totals)));

    status(del(`/api/me/addresses/${addr.id}`, at), 200, 'DELETE /api/me/addresses/{id}');
    problem(del(`/api/me/addresses/${addr.id}`, at), 404, 'address: deleted twice');
    problem(get('/api/guest-orders/not.a.link', { tags: { name: '/api/guest-orders/{token}' } }), 404,
      'guest order link: forged');
  });

  // A route nobody serves is a plain 404, not a 5xx.
  status(request('GET', '/api/no-such-route', null, u1), 404, 'unknown route');
}
