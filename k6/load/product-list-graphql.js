// Load: GraphQL products(categorySlug:, page:, pageSize:) (warm cache). env: as product-list-rest.js.
import { check } from 'k6';
import { post } from '../lib/http.js';
import { loadOptions, pickCategory, readOpts } from '../lib/load.js';

export const options = loadOptions();
const PAGE = Number(__ENV.PAGE || 1);
const PAGE_SIZE = Number(__ENV.PAGE_SIZE || 20);
const QUERY = `query($c: String, $p: Int, $n: Int) { products(categorySlug: $c, page: $p, pageSize: $n) {
  items { id slug name description categoryId categorySlug priceMinor currency stockQty } page pageSize total } }`;

export function setup() {
  return { category: pickCategory() };
}

export default function ({ category }) {
  const r = post('/graphql', { query: QUERY, variables: { c: category, p: PAGE, n: PAGE_SIZE } },
    readOpts({ name: 'graphql products' }));
  check(r, {
    'status 200': (x) => x.status === 200,
    'no graphql errors': (x) => !String(x.body).includes('"errors"'),
  });
}
