// Functional checks of every public GraphQL operation (docs: k6/README.md). Same shape as rest.js:
//   catalog: VUS virtual users on the catalog queries and the error cases;
//   shopper: one virtual user on the stateful journey as USER1, ITERATIONS times.
// The fixtures are made with the admin mutations. Any failed check or any 5xx fails the run.
import { group } from 'k6';
import { intEnv } from './lib/env.js';
import { allTokens } from './lib/auth.js';
import { expect, facetOptionsText, gqlError, gqlOk, isPage, optionsText, status } from './lib/checks.js';
import { createFixturesGraphql, idemKey, optionList, unknownId } from './lib/fixtures.js';
import { gql, json, request, THRESHOLDS } from './lib/http.js';

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

const PRODUCT = 'id slug name description categoryId categorySlug priceMinor currency stockQty';
const CART = 'id items { productId slug name qty unitPriceMinor currency lineTotalMinor } totals { currency amountMinor }';
const ORDER = 'id status totalMinor currency paymentMethod createdAt cardLast4 items { productId qty unitPriceMinor currency }';

const Q = {
  categories: 'query { categories { id slug name } }',
  products: `query($c: String, $s: String, $p: Int, $n: Int) {
    products(categorySlug: $c, search: $s, page: $p, pageSize: $n) { items { ${PRODUCT} } page pageSize total } }`,
  product: `query($slug: String!) { product(slug: $slug) { ${PRODUCT} } }`,
  me: 'query { me { id email name roles createdAt } }',
  wallets: 'query { walletBalances { id currency balanceMinor } }',
  currencies: 'query { walletCurrencies { code exponent } }',
  transactions: `query($c: String!, $p: Int, $n: Int) { walletTransactions(currency: $c, page: $p, pageSize: $n) {
    items { id transactionId kind amountMinor currency memo createdAt } page pageSize total } }`,
  cart: `query { cart { ${CART} } }`,
  order: `query($id: ID!) { order(id: $id) { ${ORDER} } }`,
  orders: `query($p: Int, $n: Int) { orders(page: $p, pageSize: $n) { items { ${ORDER} } page pageSize total } }`,
  topUp: `mutation($c: String!, $a: Int!, $k: String) { topUpWallet(currency: $c, amountMinor: $a, idempotencyKey: $k) {
    id currency balanceMinor } }`,
  transfer: `mutation($to: String!, $c: String!, $a: Int!, $k: String) {
    transferMoney(toEmail: $to, currency: $c, amountMinor: $a, idempotencyKey: $k) {
      id currency amountMinor toEmail balanceMinor createdAt } }`,
  add: `mutation($id: ID!, $q: Int!) { addToCart(productId: $id, qty: $q) { ${CART} } }`,
  set: `mutation($id: ID!, $q: Int!) { setCartItem(productId: $id, qty: $q) { ${CART} } }`,
  remove: `mutation($id: ID!) { removeCartItem(productId: $id) { ${CART} } }`,
  checkout: `mutation($c: String!, $k: String) { checkout(walletCurrency: $c, idempotencyKey: $k) { ${ORDER} } }`,
  checkoutCard: `mutation($card: CardPaymentInput!, $c: String!, $k: String) {
    checkoutWithCard(card: $card, currency: $c, idempotencyKey: $k) { ${ORDER} } }`,
  cancel: `mutation($id: ID!, $k: String) { cancelOrder(id: $id, idempotencyKey: $k) { ${ORDER} } }`,
  // Catalog v2
  variantProduct: `query($slug: String!) { product(slug: $slug) { id priceMinor currency stockQty
    options { name values } variants { id productId sku options { name value } priceMinor currency stockQty } } }`,
  filtered: `query($c: String, $min: Int, $max: Int, $in: Boolean, $o: [OptionFilterInput!], $d: String, $s: String) {
    products(categorySlug: $c, minPrice: $min, maxPrice: $max, inStock: $in, options: $o, displayCurrency: $d,
             sort: $s) {
      total items { id priceMinor displayPriceMinor displayCurrency }
      facets { categories { slug count } options { name values { value count } } price { min max currency } } } }`,
  addVariant: `mutation($id: ID!, $v: ID, $q: Int!) { addToCart(productId: $id, variantId: $v, qty: $q) {
    items { productId variantId sku qty unitPriceMinor options { name value } } } }`,
  setVariant: 'mutation($v: ID!, $q: Int!) { setCartVariant(variantId: $v, qty: $q) { items { variantId qty } } }',
  removeVariant: 'mutation($v: ID!) { removeCartVariant(variantId: $v) { items { variantId } } }',
  createVariant: `mutation($p: ID!, $sku: String!, $o: [OptionValueInput!], $price: Int!, $stock: Int) {
    createVariant(productId: $p, sku: $sku, options: $o, priceMinor: $price, currency: "EUR", stockQty: $stock) {
      id sku options { name value } priceMinor stockQty } }`,
  setVariantPrice: `mutation($id: ID!, $price: Int!) { setVariantPrice(id: $id, priceMinor: $price, currency: "EUR") {
    priceMinor } }`,
  setVariantStock: 'mutation($id: ID!, $n: Int!) { setVariantStock(id: $id, stockQty: $n) { stockQty } }',
  updateVariant: 'mutation($id: ID!, $o: [OptionValueInput!]) { updateVariant(id: $id, options: $o) { id } }',
  deleteVariant: 'mutation($id: ID!) { deleteVariant(id: $id) { deleted } }',
};

export function setup() {
  const tokens = allTokens(__ENV);
  const fx = createFixturesGraphql(tokens.admin);
  return { tokens, fx };
}

// ---------------------------------------------------------------- catalog and error cases

export function catalog({ tokens, fx }) {
  const t = { token: tokens.catalog };
  const slug = fx.category.slug;

  group('categories', () => {
    const res = gql(Q.categories, {}, t);
    gqlOk(res, 'categories');
    expect(res.data, 'categories: includes the run\'s category', (d) => d.categories.some((c) =>
      c.id === fx.category.id && c.slug === slug && c.name === fx.category.name));
  });

  group('products by category, paginated', () => {
    const seen = new Set();
    for (const page of [1, 2, 3]) {
      const res = gql(Q.products, { c: slug, p: page, n: 2 }, t);
      gqlOk(res, `products page ${page}`);
      const p = res.data && res.data.products;
      expect(p, `products page ${page}: REST page shape`, (x) => isPage(x, page, 2) && x.total === 5
        && x.items.length === (page < 3 ? 2 : 1) && x.items.every((i) => i.categorySlug === slug));
      ((p && p.items) || []).forEach((i) => seen.add(i.slug));
    }
    expect(seen, 'products: the pages hold the five products, no repeats', (s) => s.size === 5);
  });

  group('search', () => {
    const res = gql(Q.products, { s: fx.marker }, t);
    gqlOk(res, 'products(search)');
    expect(res.data, 'search: finds the two products named with the marker', (d) => d.products.total === 2
      && d.products.items.some((i) => i.slug === fx.products.widget.slug));
    const within = gql(Q.products, { s: fx.marker, c: slug }, t);
    expect(within.data, 'search within a category', (d) => d.products.total === 1);
  });

  group('product by slug', () => {
    const w = fx.products.widget;
    const res = gql(Q.product, { slug: w.slug }, t);
    gqlOk(res, 'product(slug)');
    expect(res.data, 'product: every field', (d) => d.product.id === w.id && d.product.priceMinor === 1250
      && d.product.currency === 'EUR' && d.product.categoryId === fx.category.id && d.product.stockQty >= 0);
    const missing = gql(Q.product, { slug: `${slug}-no-such-thing` }, t);
    expect(missing, 'unknown product: null, no error', (x) => x.r.status === 200 && !x.errors
      && x.data.product === null);
  });

  group('variants, filters and facets', () => {
    const res = gql(Q.variantProduct, { slug: fx.tee.slug }, t);
    gqlOk(res, 'product with variants');
    expect(res.data, 'variants: lowest price, summed stock, options union as lists', (d) => d.product.priceMinor === 1800
      && d.product.variants.length === 3
      && d.product.stockQty === d.product.variants.reduce((n, v) => n + v.stockQty, 0)
      && optionsText(d.product.options) === 'size:S|M;colour:Navy|Sand'
      && d.product.variants[1].options.some((o) => o.name === 'size' && o.value === 'M'));
    const all = gql(Q.filtered, { c: fx.shelf.slug }, t);
    gqlOk(all, 'products with facets');
    expect(all.data, 'facets: the whole shelf', (d) => d.products.total === 2
      && d.products.facets.categories[0].count === 2 && d.products.facets.price.min === 900
      && facetOptionsText(d.products.facets) === 'colour:Navy=1|Sand=1;size:M=1|S=1');
    const m = gql(Q.filtered, { c: fx.shelf.slug, in: true, o: [{ name: 'size', value: 'M' }] }, t);
    gqlOk(m, 'products(inStock, options)');
    expect(m.data, 'filters: an M in stock is only the tee', (d) => d.products.total === 1
      && d.products.items[0].id === fx.tee.id && d.products.facets.price.max === 2200);
    const cheap = gql(Q.filtered, { c: fx.shelf.slug, max: 1000 }, t);
    expect(cheap.data, 'filters: maxPrice', (d) => d.products.total === 1 && d.products.items[0].id === fx.mug.id);
    const usd = gql(Q.filtered, { c: fx.shelf.slug, d: 'USD', s: 'price_asc' }, t);
    gqlOk(usd, 'products(displayCurrency)');
    expect(usd.data, 'display currency: converted and sorted', (d) => d.products.items[0].id === fx.mug.id
      && d.products.items[0].displayPriceMinor === 978 && d.products.items[1].displayPriceMinor === 1957
      && d.products.items.every((i) => i.displayCurrency === 'USD'));
    gqlError(gql(Q.filtered, { min: -1 }, t), 'negative minPrice', { code: 'INVALID_ARGUMENT', field: 'minPrice' });
    gqlError(gql(Q.filtered, { d: 'XYZ' }, t), 'unknown display currency',
      { code: 'INVALID_ARGUMENT', field: 'displayCurrency' });
  });

  group('validation errors', () => {
    gqlError(gql(Q.products, { n: 1000 }, t), 'pageSize above 100', { code: 'INVALID_ARGUMENT', field: 'pageSize' });
    gqlError(gql('query { categories { id nope } }', {}, t), 'unknown field', { code: 'INVALID_ARGUMENT' });
    gqlError(gql('query { categories { id ', {}, t), 'syntax error', { code: 'INVALID_ARGUMENT' });
    const bad = request('POST', '/graphql', null, { token: tokens.catalog, raw: '{"query": ' });
    status(bad, [400, 422], 'malformed JSON body');
    const notObject = request('POST', '/graphql', null, { token: tokens.catalog, raw: '[1]' });
    status(notObject, [400, 422], 'JSON that is not an object');
    const noQuery = request('POST', '/graphql', { variables: {} }, t);
    status(noQuery, [400, 422], 'request without a query');
  });

  group('authentication errors', () => {
    gqlError(gql(Q.cart, {}), 'cart without a token', { code: 'UNAUTHENTICATED' });
    gqlError(gql(Q.wallets, {}), 'walletBalances without a token', { code: 'UNAUTHENTICATED' });
    gqlError(gql(Q.orders, {}), 'orders without a token', { code: 'UNAUTHENTICATED' });
    gqlError(gql(Q.checkout, { c: 'EUR' }), 'checkout without a token', { code: 'UNAUTHENTICATED' });
    gqlError(gql(Q.topUp, { c: 'EUR', a: 100 }), 'topUpWallet without a token', { code: 'UNAUTHENTICATED' });
    const me = gql(Q.me, {});
    expect(me, 'me without a token: null', (x) => x.data && x.data.me === null);
    const garbage = gql(Q.cart, {}, { token: 'not-a-jwt' });
    expect(garbage, 'garbage token: refused', (x) => x.r.status === 401
      || (x.errors && x.errors[0].extensions.code === 'UNAUTHENTICATED'));
    const adminByShopper = gql('mutation { createCategory(slug: "k6-nope", name: "nope") { id } }', {},
      { token: tokens.user2 });
    gqlError(adminByShopper, 'admin mutation by a shopper', { code: 'PERMISSION_DENIED' });
  });
}

// ---------------------------------------------------------------- the shopper journey

function call(token, query, variables, what) {
  const res = gql(query, variables, { token });
  gqlOk(res, what);
  return res.data || {};
}

function balance(token, currency) {
  const d = gql(Q.wallets, {}, { token }).data || { walletBalances: [] };
  const w = d.walletBalances.find((x) => x.currency === currency);
  return w ? w.balanceMinor : 0;
}

function stock(token, slug) {
  const d = gql(Q.product, { slug }, { token }).data || {};
  return d.product ? d.product.stockQty : undefined;
}

function line(cart, productId) {
  return ((cart && cart.items) || []).find((l) => l.productId === productId);
}

function total(cart, currency) {
  const x = ((cart && cart.totals) || []).find((y) => y.currency === currency);
  return x ? x.amountMinor : 0;
}

function emptyCart(token) {
  const d = gql(Q.cart, {}, { token }).data;
  for (const l of (d && d.cart.items) || []) gql(Q.remove, { id: l.productId }, { token });
}

export function shopper({ tokens, fx }) {
  const u1 = tokens.user1;
  const u2 = tokens.user2;
  const { widget, gadget, scarce, pricey } = fx.products;
  emptyCart(u1);

  group('me and currencies', () => {
    const d = call(u1, Q.me, {}, 'me');
    expect(d, 'me: the signed-in user', (x) => x.me.email === tokens.user1Email && Array.isArray(x.me.roles));
    const c = call(u1, Q.currencies, {}, 'walletCurrencies');
    expect(c, 'walletCurrencies: EUR with exponent 2', (x) => x.walletCurrencies.some((y) => y.code === 'EUR'
      && y.exponent === 2));
  });

  let bal = 0;
  group('wallets: top-up (idempotent)', () => {
    const before = balance(u1, 'EUR');
    const k = idemKey('gql-topup');
    const d = call(u1, Q.topUp, { c: 'EUR', a: 50000, k }, 'topUpWallet');
    expect(d, 'topUpWallet: the new balance', (x) => x.topUpWallet.balanceMinor === before + 50000);
    const again = call(u1, Q.topUp, { c: 'EUR', a: 50000, k }, 'topUpWallet replay');
    expect(again, 'topUpWallet replay: same answer', (x) => x.topUpWallet.balanceMinor === before + 50000);
    bal = balance(u1, 'EUR');
    expect(bal, 'topUpWallet replay: money added once', (b) => b === before + 50000);
    gqlError(gql(Q.topUp, { c: 'EUR', a: -5 }, { token: u1 }), 'topUpWallet of a negative amount',
      { code: 'INVALID_ARGUMENT', field: 'amountMinor' });
    gqlError(gql(Q.topUp, { c: 'euro', a: 5 }, { token: u1 }), 'topUpWallet in a malformed currency',
      { code: 'INVALID_ARGUMENT', field: 'currency' });
    gqlError(gql(Q.topUp, { c: 'EUR', a: 'ten' }, { token: u1 }), 'topUpWallet amount of the wrong type',
      { code: 'INVALID_ARGUMENT' });
    expect(balance(u1, 'EUR'), 'refused top-ups moved nothing', (b) => b === bal);
  });

  group('cart: add, set, remove, totals', () => {
    let d = call(u1, Q.add, { id: widget.id, q: 2 }, 'addToCart');
    expect(d, 'addToCart: the line, priced', (x) => {
      const l = line(x.addToCart, widget.id);
      return l.qty === 2 && l.unitPriceMinor === 1250 && l.lineTotalMinor === 2500 && l.slug === widget.slug;
    });
    d = call(u1, Q.add, { id: widget.id, q: 1 }, 'addToCart again');
    expect(d, 'addToCart: adds to the quantity', (x) => line(x.addToCart, widget.id).qty === 3);
    d = call(u1, Q.set, { id: widget.id, q: 2 }, 'setCartItem');
    expect(d, 'setCartItem: sets the quantity', (x) => line(x.setCartItem, widget.id).qty === 2);
    d = call(u1, Q.add, { id: gadget.id, q: 1 }, 'addToCart gadget');
    expect(d, 'cart totals per currency', (x) => total(x.addToCart, 'EUR') === 3299 && x.addToCart.totals.length === 1);
    d = call(u1, Q.remove, { id: gadget.id }, 'removeCartItem');
    expect(d, 'removeCartItem: removes the line', (x) => !line(x.removeCartItem, gadget.id)
      && total(x.removeCartItem, 'EUR') === 2500);
    call(u1, Q.set, { id: gadget.id, q: 3 }, 'setCartItem gadget');
    d = call(u1, Q.set, { id: gadget.id, q: 0 }, 'setCartItem 0');
    expect(d, 'setCartItem 0 removes the line', (x) => !line(x.setCartItem, gadget.id));
    d = call(u1, Q.cart, {}, 'cart');
    expect(d, 'cart: one line, its total', (x) => x.cart.items.length === 1 && total(x.cart, 'EUR') === 2500);
    gqlError(gql(Q.add, { id: unknownId(), q: 1 }, { token: u1 }), 'addToCart of an unknown product',
      { code: 'NOT_FOUND' });
    gqlError(gql(Q.add, { id: widget.id, q: 0 }, { token: u1 }), 'addToCart qty 0',
      { code: 'INVALID_ARGUMENT', field: 'qty' });
  });

  let order = null;
  group('checkout with wallet (idempotent)', () => {
    const stockBefore = stock(u1, widget.slug);
    const k = idemKey('gql-checkout');
    const d = call(u1, Q.checkout, { c: 'EUR', k }, 'checkout');
    order = (d && d.checkout) || {};
    expect(order, 'checkout: paid order', (o) => o.status === 'paid' && o.totalMinor === 2500 && o.currency === 'EUR'
      && o.paymentMethod === 'wallet' && o.items.length === 1 && o.items[0].productId === widget.id
      && o.items[0].qty === 2);
    const again = call(u1, Q.checkout, { c: 'EUR', k }, 'checkout replay');
    expect(again, 'checkout replay: same order id', (x) => x.checkout.id === order.id);
    expect(balance(u1, 'EUR'), 'checkout: charged once', (b) => b === bal - 2500);
    expect(stock(u1, widget.slug), 'checkout: stock taken once', (s) => s === stockBefore - 2);
    expect(call(u1, Q.cart, {}, 'cart after checkout'), 'checkout empties the cart', (x) => x.cart.items.length === 0);
    gqlError(gql(Q.checkout, { c: 'USD', k }, { token: u1 }), 'checkout: same key, other arguments');
  });

  group('orders: history, by id, cancel', () => {
    const d = call(u1, Q.orders, { p: 1, n: 5 }, 'orders');
    expect(d, 'orders: newest first, ours on top', (x) => isPage(x.orders, 1, 5) && x.orders.items[0].id === order.id
      && x.orders.items.every((o, i) => i === 0 || x.orders.items[i - 1].createdAt >= o.createdAt));
    const one = call(u1, Q.order, { id: order.id }, 'order(id)');
    expect(one, 'order(id): the same order', (x) => x.order.id === order.id && x.order.totalMinor === 2500);
    const theirs = gql(Q.order, { id: order.id }, { token: u2 });
    expect(theirs, 'another user\'s order: null or NOT_FOUND', (x) => (x.data && x.data.order === null)
      || (x.errors && x.errors[0].extensions.code === 'NOT_FOUND'));
    const stockBefore = stock(u1, widget.slug);
    const k = idemKey('gql-cancel');
    const c = call(u1, Q.cancel, { id: order.id, k }, 'cancelOrder');
    expect(c, 'cancelOrder: refunded', (x) => x.cancelOrder.id === order.id && x.cancelOrder.status === 'refunded');
    expect(balance(u1, 'EUR'), 'cancelOrder: balance restored', (b) => b === bal);
    expect(stock(u1, widget.slug), 'cancelOrder: stock restored', (s) => s === stockBefore + 2);
    const replay = call(u1, Q.cancel, { id: order.id, k }, 'cancelOrder replay');
    expect(replay, 'cancelOrder replay: same answer, refunded once', (x) => x.cancelOrder.status === 'refunded'
      && balance(u1, 'EUR') === bal);
    gqlError(gql(Q.cancel, { id: order.id }, { token: u1 }), 'cancelOrder twice',
      { code: 'FAILED_PRECONDITION' });
    gqlError(gql(Q.cancel, { id: order.id }, { token: u2 }), 'cancelOrder of another user\'s order',
      { code: 'NOT_FOUND' });
  });

  group('checkout refusals move nothing', () => {
    gqlError(gql(Q.checkout, { c: 'EUR' }, { token: u1 }), 'checkout of an empty cart',
      { code: 'FAILED_PRECONDITION', reason: 'CART_EMPTY' });
    const scarceBefore = stock(u1, scarce.slug);
    call(u1, Q.add, { id: scarce.id, q: 2 }, 'addToCart scarce');
    gqlError(gql(Q.checkout, { c: 'EUR' }, { token: u1 }), 'checkout beyond the stock',
      { code: 'FAILED_PRECONDITION', reason: 'OUT_OF_STOCK' });
    expect(stock(u1, scarce.slug), 'out of stock: stock unchanged', (s) => s === scarceBefore);
    call(u1, Q.remove, { id: scarce.id }, 'removeCartItem scarce');
    call(u1, Q.add, { id: pricey.id, q: 1 }, 'addToCart pricey');
    gqlError(gql(Q.checkout, { c: 'EUR' }, { token: u1 }), 'checkout beyond the balance',
      { code: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_FUNDS' });
    expect(balance(u1, 'EUR'), 'insufficient funds: balance unchanged', (b) => b === bal);
    emptyCart(u1);
  });

  group('checkout by card (test gateway)', () => {
    const card = { number: '4242424242424242', expMonth: 12, expYear: 2035, cvc: '123' };
    call(u1, Q.add, { id: gadget.id, q: 1 }, 'addToCart gadget');
    gqlError(gql(Q.checkoutCard, { card: Object.assign({}, card, { number: '4000000000000002' }), c: 'EUR' },
      { token: u1 }), 'declined card', { code: 'FAILED_PRECONDITION', reason: 'CARD_DECLINED' });
    const d = call(u1, Q.checkoutCard, { card, c: 'EUR', k: idemKey('gql-card') }, 'checkoutWithCard');
    expect(d, 'card order: paid, last 4 kept', (x) => x.checkoutWithCard.paymentMethod === 'card'
      && x.checkoutWithCard.status === 'paid' && x.checkoutWithCard.cardLast4 === '4242');
    expect(balance(u1, 'EUR'), 'card order: the wallet is untouched', (b) => b === bal);
  });

  group('wallets: transfer and transactions', () => {
    const theirs = balance(u2, 'EUR');
    const d = call(u1, Q.transfer, { to: tokens.user2Email, c: 'EUR', a: 1000, k: idemKey('gql-transfer') },
      'transferMoney');
    expect(d, 'transferMoney: the sender\'s new balance', (x) => x.transferMoney.balanceMinor === bal - 1000
      && x.transferMoney.toEmail === tokens.user2Email && x.transferMoney.amountMinor === 1000);
    expect(balance(u2, 'EUR'), 'transferMoney: the recipient got it', (b) => b === theirs + 1000);
    gqlError(gql(Q.transfer, { to: tokens.user2Email, c: 'EUR', a: bal + 1 }, { token: u1 }),
      'transfer beyond the balance', { code: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_FUNDS' });
    gqlError(gql(Q.transfer, { to: tokens.user2Email, c: 'EUR', a: 0 }, { token: u1 }), 'transfer of zero',
      { code: 'INVALID_ARGUMENT', field: 'amountMinor' });
    const tx = call(u1, Q.transactions, { c: 'EUR', p: 1, n: 10 }, 'walletTransactions');
    expect(tx, 'walletTransactions: newest first, the journey is on the ledger', (x) => {
      const p = x.walletTransactions;
      const kinds = p.items.map((e) => e.kind);
      return isPage(p, 1, 10) && p.items[0].kind === 'transfer_out' && p.items[0].amountMinor === -1000
        && kinds.includes('refund') && kinds.includes('payment') && kinds.includes('topup');
    });
    const theirTx = call(u2, Q.transactions, { c: 'EUR', n: 1 }, 'walletTransactions (recipient)');
    expect(theirTx, 'walletTransactions: the recipient sees transfer_in', (x) =>
      x.walletTransactions.items[0].kind === 'transfer_in' && x.walletTransactions.items[0].amountMinor === 1000);
  });

  group('cart and admin by variant', () => {
    const [mNavy] = fx.teeVariants;
    gqlError(gql(Q.addVariant, { id: fx.tee.id, q: 1 }, { token: u1 }), 'addToCart without variantId',
      { code: 'INVALID_ARGUMENT', field: 'variantId' });
    const added = call(u1, Q.addVariant, { id: fx.tee.id, v: mNavy.id, q: 1 }, 'addToCart(variantId)');
    expect(added, 'cart: the variant line', (d) => d.addToCart.items.length === 1
      && d.addToCart.items[0].variantId === mNavy.id && d.addToCart.items[0].sku === mNavy.sku
      && d.addToCart.items[0].options.some((o) => o.name === 'colour' && o.value === 'Navy'));
    const set = call(u1, Q.setVariant, { v: mNavy.id, q: 3 }, 'setCartVariant');
    expect(set, 'setCartVariant: the quantity', (d) => d.setCartVariant.items[0].qty === 3);
    const removed = call(u1, Q.removeVariant, { v: mNavy.id }, 'removeCartVariant');
    expect(removed, 'removeCartVariant: gone', (d) => d.removeCartVariant.items.length === 0);

    // Admin writes on a product of its own (the catalog scenario counts the shelf's variants meanwhile).
    const a = tokens.admin;
    const cat = call(a, 'mutation($s: String!) { createCategory(slug: $s, name: "k6 admin") { id } }',
      { s: `${fx.shelf.slug}-admin-${__ITER}` }, 'createCategory (admin variants)').createCategory || {};
    const hoodie = call(a, `mutation($s: String!, $c: ID!) { createProduct(slug: $s, name: "Hoodie", categoryId: $c,
      priceMinor: 4000, currency: "EUR", stockQty: 2) { id } }`, { s: `${fx.shelf.slug}-hoodie-${__ITER}`, c: cat.id },
    'createProduct (admin variants)').createProduct || {};
    const sku = `${fx.shelf.slug}-hoodie-${__ITER}-xl`;
    const v = call(a, Q.createVariant, { p: hoodie.id, sku, o: optionList({ size: 'XL' }), price: 2600, stock: 0 },
      'createVariant').createVariant || {};
    expect(v, 'createVariant: as sent', (x) => x.sku === sku && x.priceMinor === 2600 && x.stockQty === 0);
    call(a, Q.setVariantPrice, { id: v.id, price: 2700 }, 'setVariantPrice');
    call(a, Q.setVariantStock, { id: v.id, n: 0 }, 'setVariantStock');
    call(a, Q.updateVariant, { id: v.id, o: optionList({ size: 'XXL' }) }, 'updateVariant');
    gqlError(gql(Q.setVariantStock, { id: v.id, n: 1 }, { token: u2 }), 'setVariantStock by a shopper',
      { code: 'PERMISSION_DENIED' });
    const gone = call(a, Q.deleteVariant, { id: v.id }, 'deleteVariant');
    expect(gone, 'deleteVariant: deleted', (d) => d.deleteVariant.deleted === true);
    gqlError(gql(Q.deleteVariant, { id: hoodie.id }, { token: a }), 'deleteVariant of the last variant',
      { code: 'FAILED_PRECONDITION', reason: 'LAST_VARIANT' });
    call(a, 'mutation($id: ID!) { deleteProduct(id: $id) { deleted } }', { id: hoodie.id }, 'deleteProduct');
    call(a, 'mutation($id: ID!) { deleteCategory(id: $id) { deleted } }', { id: cat.id }, 'deleteCategory');
  });

  group('fulfilment: addresses, shipping, tax, admin orders', () => {
    const a = tokens.admin;
    // Malta is this suite's zone (the REST suite uses Luxembourg); reused on later iterations.
    let zone = (call(a, '{ shippingZones { id countries } }', {}, 'shippingZones').shippingZones || [])
      .find((z) => z.countries.includes('MT'));
    if (!zone) {
      zone = call(a, 'mutation { createShippingZone(name: "k6 Malta", countries: ["MT"]) { id countries } }', {},
        'createShippingZone').createShippingZone || { id: unknownId };
    }
    const name = `k6 gql ${__ITER}`;
    const z = call(a, `mutation($z: ID!, $n: String!) { createShippingMethod(zoneId: $z, name: $n,
      prices: [{currency: "EUR", priceMinor: 250}]) { methods { id name } } }`, { z: zone.id, n: name },
    'createShippingMethod').createShippingMethod || { methods: [] };
    const method = z.methods.find((m) => m.name === name) || { id: unknownId };
    call(a, 'mutation { setTaxRate(country: "MT", rate: "18", inclusive: true) { rate } }', {}, 'setTaxRate');
    expect(call(a, '{ taxRates { country rate inclusive } }', {}, 'taxRates'), 'taxRates: MT 18 inclusive', (d) =>
      d.taxRates.some((t) => t.country === 'MT' && t.rate === '18' && t.inclusive === true));
    gqlError(gql('{ shippingZones { id } }', {}, { token: u1 }), 'shippingZones by a shopper',
      { code: 'PERMISSION_DENIED' });
    expect(call(u1, '{ shippingMethods(country: "MT", currency: "EUR") { id priceMinor } }', {}, 'shippingMethods'),
      'shippingMethods: ours', (d) => d.shippingMethods.some((m) => m.id === method.id && m.priceMinor === 250));

    const addr = call(u1, `mutation { createAddress(name: "K6", line1: "1 Triq", city: "Valletta", country: "MT")
      { id } }`, {}, 'createAddress').createAddress || { id: unknownId };
    call(u1, 'mutation($id: ID!) { updateAddress(id: $id, postalCode: "VLT 1000") { id } }', { id: addr.id },
      'updateAddress');
    expect(call(u1, '{ myAddresses { id postalCode } }', {}, 'myAddresses'), 'myAddresses: ours, changed', (d) =>
      d.myAddresses.some((x) => x.id === addr.id && x.postalCode === 'VLT 1000'));
    gqlError(gql('mutation { createAddress(name: "x", line1: "x", city: "x", country: "QQ") { id } }', {},
      { token: u1 }), 'createAddress: not a country', { code: 'INVALID_ARGUMENT' });

    // 1250 + 250 = 1500 includes 18%: tax 228.81... -> 229; shipping's share round(229 * 250 / 1500) = 38
    emptyCart(u1);
    call(u1, Q.topUp, { c: 'EUR', a: 5000, k: idemKey('gql-ship-topup') }, 'topUpWallet for the shipped order');
    call(u1, Q.add, { id: widget.id, q: 1 }, 'addToCart for the shipped order');
    const order = call(u1, `mutation($a: ID!, $m: ID!) { checkout(walletCurrency: "EUR", addressId: $a,
      shippingMethodId: $m) { id subtotalMinor shippingMinor taxMinor totalMinor shippingAddress { city } } }`,
    { a: addr.id, m: method.id }, 'checkout with shipping').checkout || { id: unknownId };
    expect(order, 'shipped order: inclusive tax taken out, total as shown', (o) => o.totalMinor === 1500
      && o.taxMinor === 229 && o.shippingMinor === 212 && o.subtotalMinor === 1059
      && o.shippingAddress.city === 'Valletta');
    const f = call(a, `mutation($id: ID!) { fulfilOrder(id: $id, carrier: "MaltaPost", trackingNumber: "MT1")
      { status fulfillments { carrier } } }`, { id: order.id }, 'fulfilOrder').fulfilOrder || {};
    expect(f, 'fulfilOrder: fulfilled', (o) => o.status === 'fulfilled' && o.fulfillments.length === 1);
    const rf = call(a, `mutation($id: ID!, $k: String) { refundOrder(id: $id, amountMinor: 500, reason: "k6",
      idempotencyKey: $k) { status refundedMinor } }`, { id: order.id, k: idemKey('gql-refund') }, 'refundOrder')
      .refundOrder || {};
    expect(rf, 'refundOrder: partially refunded', (o) => o.status === 'partially_refunded' && o.refundedMinor === 500);
    gqlError(gql('mutation($id: ID!) { refundOrder(id: $id, amountMinor: 1001) { id } }', { id: order.id },
      { token: a }), 'refundOrder beyond what was paid', { reason: 'REFUND_EXCEEDS_PAID' });
    const feed = call(a, `query($id: ID!) { adminOrder(id: $id) { email refunds { amountMinor } }
      adminOrders(pageSize: 50) { total items { id updatedAt } } customers(pageSize: 50) { total } }`,
    { id: order.id }, 'adminOrder, adminOrders, customers');
    expect(feed, 'admin views: the email, the feed, the customers', (d) => d.adminOrder.email === tokens.user1Email
      && d.adminOrder.refunds.length === 1 && d.adminOrders.items.some((o) => o.id === order.id)
      && Number.isInteger(d.customers.total));
    gqlError(gql('{ adminOrders { total } }', {}, { token: u1 }), 'adminOrders by a shopper',
      { code: 'PERMISSION_DENIED' });
    call(u1, 'mutation($id: ID!) { deleteAddress(id: $id) { deleted } }', { id: addr.id }, 'deleteAddress');
  });

  // GET /graphql serves the explorer page, not a 5xx.
  const page = request('GET', '/graphql', null, { headers: { Accept: 'text/html' } });
  status(page, 200, 'GET /graphql explorer');
  expect(json(page), 'explorer is HTML, not JSON', (x) => x === null);
}
