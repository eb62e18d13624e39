// Load: many shoppers buying the same few products with their wallets at once.
//
// Each VU is one shopper with its own token (VU n uses entry (n-1) mod len of TOKENS_FILE), so carts
// never collide; every iteration sets one line (a product drawn from PRODUCTS) and checks out by wallet
// with a fresh Idempotency-Key. 201 (an order) and 409 OUT_OF_STOCK / INSUFFICIENT_FUNDS (the shop
// refusing correctly) are both good answers; anything else is an error.
//
// env: see k6/lib/load.js, plus
//   TOKENS_FILE   JSON file: ["token", ...] or [{"token"|"access_token": "...", ...}, ...] (required)
//   PRODUCTS      comma-separated product slugs, the few everybody buys (required)
//   QTY (1), CURRENCY (EUR), TOP_UP_MINOR (0: setup tops every wallet up by this much first)
// Summary: orders_placed (count and rate = orders/s), units_sold, out_of_stock, insufficient_funds.
// teardown() logs each product's stock before and after: initial - final must equal units_sold, and
// no stock may be negative (the lead's benchmark driver also checks the ledger in SQL).
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { del, get, json, post, put } from '../lib/http.js';
import { loadOptions, VUS } from '../lib/load.js';

function required(name) {
  if (!__ENV[name]) throw new Error(`environment variable ${name} is required (see the header of this script)`);
  return __ENV[name];
}

const TOKENS = JSON.parse(open(required('TOKENS_FILE'))).map((t) => (typeof t === 'string' ? t
  : t.token || t.access_token));
if (!TOKENS.length || TOKENS.some((t) => !t)) throw new Error('TOKENS_FILE must hold a non-empty list of tokens');
const SLUGS = required('PRODUCTS').split(',').map((s) => s.trim()).filter(Boolean);
const QTY = Number(__ENV.QTY || 1);
const CURRENCY = __ENV.CURRENCY || 'EUR';
const TOP_UP = Number(__ENV.TOP_UP_MINOR || 0);

const ordersPlaced = new Counter('orders_placed');
const unitsSold = new Counter('units_sold');
const outOfStock = new Counter('out_of_stock');
const insufficientFunds = new Counter('insufficient_funds');
const checkoutErrors = new Rate('checkout_errors');

export const options = loadOptions('default', {
  'checkout_errors{scenario:measure}': [`rate<${Number(__ENV.ERROR_RATE || 0.01)}`],
  'http_req_duration{name:checkout}': [`p(99)<${Number(__ENV.P99_MS || 1000)}`],
});

// A refusal is a correct answer under contention, not a failed request.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409));

export function setup() {
  if (TOKENS.length < VUS) console.warn(`only ${TOKENS.length} tokens for ${VUS} VUs: some shoppers share a cart`);
  const products = SLUGS.map((slug) => {
    const p = json(get(`/api/products/${encodeURIComponent(slug)}`, { token: TOKENS[0] }));
    if (!p || !p.id) throw new Error(`product ${slug} not found`);
    return { id: p.id, slug, stockQty: p.stockQty };
  });
  if (TOP_UP > 0) {
    for (const token of TOKENS) {
      const r = post('/api/wallets/top-up', { currency: CURRENCY, amountMinor: TOP_UP }, { token });
      if (r.status !== 200 && r.status !== 201) throw new Error(`top-up failed: ${r.status} ${r.body}`);
    }
  }
  for (const token of TOKENS.slice(0, VUS)) {
    const cart = json(get('/api/cart', { token })) || { items: [] };
    for (const l of cart.items || []) del(`/api/cart/items/${l.productId}`, { token, tags: { name: 'cart-item' } });
  }
  return { products };
}

export default function ({ products }) {
  const token = TOKENS[(__VU - 1) % TOKENS.length];
  const p = products[(__VU + __ITER) % products.length];
  put(`/api/cart/items/${p.id}`, { qty: QTY }, { token, tags: { name: 'cart-item' } });
  const r = post('/api/orders/checkout', { walletCurrency: CURRENCY },
    { token, headers: { 'Idempotency-Key': `k6-load-${__VU}-${__ITER}-${Date.now()}` }, tags: { name: 'checkout' } });
  const body = json(r) || {};
  const refused = r.status === 409 && (body.reason === 'OUT_OF_STOCK' || body.reason === 'INSUFFICIENT_FUNDS');
  if (r.status === 201) {
    ordersPlaced.add(1);
    unitsSold.add(QTY);
  } else if (refused) {
    (body.reason === 'OUT_OF_STOCK' ? outOfStock : insufficientFunds).add(1);
    del(`/api/cart/items/${p.id}`, { token, tags: { name: 'cart-item' } });
  }
  checkoutErrors.add(!(r.status === 201 || refused));
  check(r, { 'checkout: an order or a correct refusal': () => r.status === 201 || refused });
}

export function teardown({ products }) {
  const rows = products.map((p) => {
    const now = json(get(`/api/products/${encodeURIComponent(p.slug)}`, { token: TOKENS[0] })) || {};
    return { slug: p.slug, initial: p.stockQty, final: now.stockQty, taken: p.stockQty - now.stockQty };
  });
  console.log(`contention_stock ${JSON.stringify(rows)}`);
  check(rows, { 'no stock below zero': (xs) => xs.every((x) => x.final >= 0 && x.final <= x.initial) });
}
