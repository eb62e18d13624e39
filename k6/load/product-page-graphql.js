// Load: GraphQL product(slug:). env: as product-page-rest.js.
import { check } from 'k6';
import { post } from '../lib/http.js';
import { loadOptions, pickCategory, pickSlug, readOpts } from '../lib/load.js';

export const options = loadOptions();
const QUERY = `query($s: String!) { product(slug: $s) {
  id slug name description categoryId categorySlug priceMinor currency stockQty } }`;

export function setup() {
  return { slug: pickSlug(pickCategory()) };
}

export default function ({ slug }) {
  const r = post('/graphql', { query: QUERY, variables: { s: slug } }, readOpts({ name: 'graphql product' }));
  check(r, {
    'status 200': (x) => x.status === 200,
    'no graphql errors': (x) => !String(x.body).includes('"errors"'),
    'the product': (x) => String(x.body).includes(`"slug":"${slug}"`),
  });
}
