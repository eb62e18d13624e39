// Load: GET /api/products?category=C&page=P&pageSize=N (warm cache). env: see k6/lib/load.js, plus
// CATEGORY (default: the first category), PAGE (1), PAGE_SIZE (20).
import { check } from 'k6';
import { get } from '../lib/http.js';
import { loadOptions, pickCategory, readOpts } from '../lib/load.js';

export const options = loadOptions();
const PAGE = Number(__ENV.PAGE || 1);
const PAGE_SIZE = Number(__ENV.PAGE_SIZE || 20);

export function setup() {
  return { category: pickCategory() };
}

export default function ({ category }) {
  const r = get(`/api/products?category=${encodeURIComponent(category)}&page=${PAGE}&pageSize=${PAGE_SIZE}`,
    readOpts({ name: 'GET /api/products?category' }));
  check(r, {
    'status 200': (x) => x.status === 200,
    'a page of products': (x) => x.body && String(x.body).includes('"items"'),
  });
}
