// Load: full-text search, cold cache: every iteration searches a different term (two words drawn from
// the vocabulary, different per VU and iteration), so no answer is served twice.
// env: see k6/lib/load.js, plus PROTOCOL (rest | graphql, default rest), SEARCH_TERMS (comma-separated
// vocabulary; default: words of the demo catalog), PAGE_SIZE (20), CATEGORY (optional filter).
import { check } from 'k6';
import { get, post } from '../lib/http.js';
import { loadOptions, readOpts } from '../lib/load.js';

export const options = loadOptions();
const PROTOCOL = (__ENV.PROTOCOL || 'rest').toLowerCase();
const PAGE_SIZE = Number(__ENV.PAGE_SIZE || 20);
const CATEGORY = __ENV.CATEGORY || null;
const WORDS = (__ENV.SEARCH_TERMS || ['novel', 'cookbook', 'atlas', 'puzzle', 'headphones', 'speaker', 'charger',
  'monitor', 'mouse', 'tripod', 'knife', 'teapot', 'blanket', 'lamp', 'planter', 'hammer', 'drill', 'tent',
  'backpack', 'hoodie', 'jacket', 'sneakers', 'boots', 'shampoo', 'kite', 'ukulele', 'notebook', 'pen', 'leash',
  'coffee', 'tea', 'chocolate', 'honey', 'classic', 'compact', 'deluxe', 'handmade', 'modern', 'organic',
  'premium', 'rustic', 'vintage', 'wireless', 'nordic', 'urban', 'black', 'white', 'navy', 'sand', 'slate',
  'alder', 'cobalt', 'ember', 'fjord', 'granite', 'harbor', 'indigo', 'juniper', 'lumen', 'quill'].join(','))
  .split(',').map((w) => w.trim()).filter(Boolean);
if (PROTOCOL !== 'rest' && PROTOCOL !== 'graphql') throw new Error('PROTOCOL must be rest or graphql');
const QUERY = `query($s: String, $c: String, $n: Int) { products(search: $s, categorySlug: $c, pageSize: $n) {
  items { id slug name priceMinor currency stockQty } page pageSize total } }`;

function term() {
  // A different pair per (VU, iteration); with n words there are n*n pairs before one repeats.
  const i = (__VU * 7919 + __ITER * 104729) % (WORDS.length * WORDS.length);
  return `${WORDS[i % WORDS.length]} ${WORDS[Math.floor(i / WORDS.length)]}`;
}

export default function () {
  const s = term();
  let r;
  if (PROTOCOL === 'graphql') {
    r = post('/graphql', { query: QUERY, variables: { s, c: CATEGORY, n: PAGE_SIZE } },
      readOpts({ name: 'graphql products(search)' }));
  } else {
    const cat = CATEGORY ? `&category=${encodeURIComponent(CATEGORY)}` : '';
    r = get(`/api/products?search=${encodeURIComponent(s)}&pageSize=${PAGE_SIZE}${cat}`,
      readOpts({ name: 'GET /api/products?search' }));
  }
  check(r, {
    'status 200': (x) => x.status === 200,
    'a page of results': (x) => String(x.body).includes('"total"') && !String(x.body).includes('"errors"'),
  });
}
