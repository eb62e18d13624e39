// Catalog data each run creates for itself through the admin API, so results do not depend on
// whatever else is in the shop: a category with five products of known price and stock, plus a
// second category whose product must never show up under the first.
import { letters, runId } from './env.js';
import { gql, json, post, request } from './http.js';

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
    // Catalog v2: a category of its own (so the counts above stay) with a tee in sizes and colours
    // and a single-variant mug. Variants: S/Navy (the default, 20.00 x5), M/Navy (22.00 x3), M/Sand (18.00 x0).
    shelf: { slug: `${cat}-shelf`, name: `k6 ${prefix} ${rid} shelf` },
    tee: { slug: `${cat}-tee`, name: 'Tee', priceMinor: 2000, currency: 'EUR', stockQty: 5 },
    mug: { slug: `${cat}-mug`, name: 'Mug', priceMinor: 900, currency: 'EUR', stockQty: 0 },
    teeVariants: [
      { sku: `${cat}-tee-m-navy`, options: { size: 'M', colour: 'Navy' }, priceMinor: 2200, currency: 'EUR', stockQty: 3 },
      { sku: `${cat}-tee-m-sand`, options: { size: 'M', colour: 'Sand' }, priceMinor: 1800, currency: 'EUR', stockQty: 0 },
    ],
  };
}

function patch(path, body, opts) {
  return request('PATCH', path, body, opts);
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
  spec.shelf.id = mustCreate(post('/api/admin/categories', spec.shelf, opts), 'category').id;
  for (const p of [spec.tee, spec.mug]) {
    p.id = mustCreate(post('/api/admin/products', Object.assign({ categoryId: spec.shelf.id }, p), opts), p.slug).id;
  }
  mustCreate(patch(`/api/admin/variants/${spec.tee.id}`, { options: { size: 'S', colour: 'Navy' } }, opts),
    'default variant options');
  for (const v of spec.teeVariants) {
    v.id = mustCreate(post(`/api/admin/products/${spec.tee.id}/variants`, v, opts), v.sku).id;
  }
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

const UPDATE_VARIANT = `mutation($id: ID!, $options: [OptionValueInput!]) { updateVariant(id: $id, options: $options) {
  id } }`;
const CREATE_VARIANT = `mutation($productId: ID!, $sku: String!, $options: [OptionValueInput!], $priceMinor: Int!,
  $currency: String!, $stockQty: Int) { createVariant(productId: $productId, sku: $sku, options: $options,
  priceMinor: $priceMinor, currency: $currency, stockQty: $stockQty) { id } }`;

export function optionList(options) {
  return Object.keys(options).map((name) => ({ name, value: options[name] }));
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
  spec.shelf.id = mustGql(gql(CREATE_CATEGORY, spec.shelf, opts), 'createCategory', 'category').id;
  for (const p of [spec.tee, spec.mug]) {
    p.id = mustGql(gql(CREATE_PRODUCT, Object.assign({ categoryId: spec.shelf.id }, p), opts), 'createProduct',
      p.slug).id;
  }
  mustGql(gql(UPDATE_VARIANT, { id: spec.tee.id, options: optionList({ size: 'S', colour: 'Navy' }) }, opts),
    'updateVariant', 'default variant options');
  for (const v of spec.teeVariants) {
    const vars = Object.assign({ productId: spec.tee.id }, v, { options: optionList(v.options) });
    v.id = mustGql(gql(CREATE_VARIANT, vars, opts), 'createVariant', v.sku).id;
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
