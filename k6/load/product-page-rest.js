// Load: GET /api/products/{slug}. env: see k6/lib/load.js, plus SLUG (default: the first product of
// CATEGORY, itself defaulting to the first category).
import { check } from 'k6';
import { get } from '../lib/http.js';
import { loadOptions, pickCategory, pickSlug, readOpts } from '../lib/load.js';

export const options = loadOptions();

export function setup() {
  return { slug: pickSlug(pickCategory()) };
}

export default function ({ slug }) {
  const r = get(`/api/products/${encodeURIComponent(slug)}`, readOpts({ name: 'GET /api/products/{slug}' }));
  check(r, {
    'status 200': (x) => x.status === 200,
    'the product': (x) => String(x.body).includes(`"slug":"${slug}"`),
  });
}
