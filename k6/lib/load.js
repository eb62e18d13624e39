// Options and small helpers shared by the load scenarios in k6/load/.
//
// env: BASE_URL, VUS (32), DURATION (20s), WARMUP (0s: e.g. 5s runs a warm-up phase first whose requests
// the thresholds ignore), P99_MS (500), ERROR_RATE (0.01), TOKEN (optional Bearer token for reads).
import { get, json } from './http.js';

export const VUS = Number(__ENV.VUS || 32);
export const DURATION = __ENV.DURATION || '20s';
export const WARMUP = __ENV.WARMUP || '0s';
export const P99_MS = Number(__ENV.P99_MS || 500);
export const ERROR_RATE = Number(__ENV.ERROR_RATE || 0.01);
export const TOKEN = __ENV.TOKEN || '';

function seconds(d) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(d).trim());
  if (!m) throw new Error(`bad duration ${d}`);
  const f = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
  return Number(m[1]) * f;
}

/**
 * Fixed concurrency (constant-vus). With WARMUP > 0 a `warmup` scenario runs first and the `measure`
 * scenario starts after it; thresholds judge only `measure`. extra: more thresholds.
 */
export function loadOptions(exec = 'default', extra = {}) {
  const scenarios = {};
  const warm = seconds(WARMUP);
  if (warm > 0) scenarios.warmup = { executor: 'constant-vus', exec, vus: VUS, duration: WARMUP, gracefulStop: '0s' };
  scenarios.measure = { executor: 'constant-vus', exec, vus: VUS, duration: DURATION, startTime: `${warm}s` };
  return {
    scenarios,
    summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
    thresholds: Object.assign({
      'http_req_failed{scenario:measure}': [`rate<${ERROR_RATE}`],
      'http_req_duration{scenario:measure}': [`p(99)<${P99_MS}`],
      'checks{scenario:measure}': [`rate>${1 - ERROR_RATE}`],
      http_5xx: ['count==0'],
    }, extra),
  };
}

export function readOpts(tags) {
  return TOKEN ? { token: TOKEN, tags } : { tags };
}

/** CATEGORY from the env, else the first category the shop lists. */
export function pickCategory() {
  if (__ENV.CATEGORY) return __ENV.CATEGORY;
  const cats = json(get('/api/categories', readOpts())) || [];
  if (!cats.length) throw new Error('the shop has no categories: seed it (shop seed --demo) or set CATEGORY');
  return cats[0].slug;
}

/** SLUG from the env, else the first product of the category. */
export function pickSlug(category) {
  if (__ENV.SLUG) return __ENV.SLUG;
  const page = json(get(`/api/products?category=${encodeURIComponent(category)}&pageSize=1`, readOpts())) || {};
  if (!page.items || !page.items.length) throw new Error(`category ${category} has no products: set SLUG`);
  return page.items[0].slug;
}
