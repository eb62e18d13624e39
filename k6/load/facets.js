// Load: filtered product lists with their facets block, cold cache: every iteration asks for a
// different filter combination (category, inStock, maxPrice, an option), so no answer is served twice
// and each request counts its facets in PostgreSQL.
// env: see k6/lib/load.js, plus CATEGORIES (comma-separated slugs; default: the demo catalog's),
// PAGE_SIZE (20).
import { check } from 'k6';
import { get } from '../lib/http.js';
import { loadOptions, readOpts } from '../lib/load.js';

export const options = loadOptions();
const PAGE_SIZE = Number(__ENV.PAGE_SIZE || 20);
const CATEGORIES = (__ENV.CATEGORIES || ['books', 'games', 'electronics', 'computers', 'phones', 'cameras', 'kitchen',
  'home', 'garden', 'tools', 'sports', 'outdoor', 'clothing', 'shoes', 'beauty', 'toys', 'music', 'office', 'pets',
  'food'].join(',')).split(',').map((c) => c.trim()).filter(Boolean);
const OPTIONS = ['', 'option.size=M', 'option.size=L', 'option.colour=Navy', 'option.size=42'];

export default function () {
  // A different combination per (VU, iteration): the price bound alone has 50,000 values.
  const i = __VU * 7919 + __ITER * 104729;
  const cat = CATEGORIES[i % CATEGORIES.length];
  const maxPrice = 1000 + (i % 50000);
  const opt = OPTIONS[Math.floor(i / 7) % OPTIONS.length];
  const inStock = i % 2 === 0 ? '&inStock=true' : '';
  const r = get(`/api/products?category=${encodeURIComponent(cat)}&maxPrice=${maxPrice}${inStock}`
    + `${opt ? `&${opt}` : ''}&pageSize=${PAGE_SIZE}`, readOpts({ name: 'GET /api/products?filters' }));
  check(r, {
    'status 200': (x) => x.status === 200,
    'a page with facets': (x) => String(x.body).includes('"facets":{'),
  });
}
