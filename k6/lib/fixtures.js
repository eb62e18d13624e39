// Catalog data each run creates for itself through the admin API, so results do not depend on
// whatever else is in the shop: a category with five products of known price and stock, plus a
// second category whose product must never show up under the first.
import { letters, runId } from './env.js';
import { gql, json, post } from './http.js';

export function fixtureSpec(prefix) {
  const rid = runId();
  const marker = letters(10); // searchable word unique to this run
  const cat = `${prefix}-${rid}`;
  return {
    marker,
    category: { slug: cat, name: `k6 ${prefix} ${rid}` },
    other: { slug: `${cat}-other`, name: `k6 ${prefix} ${rid} other` },
    products: {
      widget: { slug: `${cat}-widget`, name: `Widget ${marker}`, priceMinor: 1250, currency: 'EUR', stockQty: 1000 },
      gadget: { slug: `${cat}-gadget`, name: 'Gadget', priceMinor: 799, currency: 'EUR', stockQty: 1000 },
      scarce: { slug: `${cat}-scarce`, name: 'Scarce thing', priceMinor: 100, currency: 'EUR', stockQty: 1 },
      pricey: { slug: `${cat}-pricey`, name: 'Pricey thing', priceMinor: 2000000000, currency: 'EUR', stockQty: 1000 },
      spare: { slug: `${cat}-spare`, name: 'Spare part', priceMinor: 300, currency: 'EUR', stockQty: 1000 },
    },
    otherProduct: { slug: `${cat}-elsewhere`, name: `Elsewhere ${marker}`, priceMinor: 500, currency: 'EUR',
      stockQty: 10 },
  };
}

function mustCreate(r, what) {
  if (r.status !== 201 && r.status !== 200) throw new Error(`creating ${what} failed: ${r.status} ${r.body}`);
  return json(r);
}

/** Create the fixtures through REST (/api/admin/...); returns the spec with ids filled in. */
export function createFixturesRest(adminToken, prefix = 'k6rest') {
  const spec = fixtureSpec(prefix);
  const opts = { token: adminToken };
  const cat = mustCreate(post('/api/admin/categories', spec.category, opts), 'category');
  const other = mustCreate(post('/api/admin/categories', spec.other, opts), 'category');
  spec.category.id = cat.id;
  spec.other.id = other.id;
  for (const key of Object.keys(spec.products)) {
    const p = spec.products[key];
    const made = mustCreate(post('/api/admin/products', Object.assign({ categoryId: cat.id, description: `k6 ${key}` }, p),
      opts), `product ${p.slug}`);
    p.id = made.id;
  }
  const op = spec.otherProduct;
  op.id = mustCreate(post('/api/admin/products', Object.assign({ categoryId: other.id }, op), opts), op.slug).id;
  return spec;
}

const CREATE_CATEGORY = 'mutation($slug: String!, $name: String!) { createCategory(slug: $slug, name: $name) { id slug } }';
const CREATE_PRODUCT = `mutation($slug: String!, $name: String!, $categoryId: ID!, $priceMinor: Int!, $currency: String!,
  $stockQty: Int) { createProduct(slug: $slug, name: $name, categoryId: $categoryId, priceMinor: $priceMinor,
  currency: $currency, stockQty: $stockQty) { id slug } }`;

function mustGql(res, field, what) {
  if (res.errors || !res.data || !res.data[field]) {
    throw new Error(`creating ${what} over GraphQL failed: ${res.r.status} ${res.r.body}`);
  }
  return res.data[field];
}

/** The same fixtures through the GraphQL admin mutations. */
export function createFixturesGraphql(adminToken, prefix = 'k6gql') {
  const spec = fixtureSpec(prefix);
  const opts = { token: adminToken };
  spec.category.id = mustGql(gql(CREATE_CATEGORY, spec.category, opts), 'createCategory', 'category').id;
  spec.other.id = mustGql(gql(CREATE_CATEGORY, spec.other, opts), 'createCategory', 'category').id;
  const all = Object.assign({}, spec.products, { otherProduct: spec.otherProduct });
  for (const key of Object.keys(all)) {
    const p = all[key];
    const categoryId = key === 'otherProduct' ? spec.other.id : spec.category.id;
    p.id = mustGql(gql(CREATE_PRODUCT, Object.assign({ categoryId }, p), opts), 'createProduct', p.slug).id;
  }
  return spec;
}

// A v4-shaped UUID nobody has: for "unknown id" checks.
export function unknownId() {
  const hex = '0123456789abcdef';
  let s = '';
  for (let i = 0; i < 32; i++) s += hex[Math.floor(Math.random() * 16)];
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`;
}

export function idemKey(what) {
  return `k6-${what}-${runId()}-${Math.floor(Math.random() * 1e9)}`;
}
