// Thin wrappers over k6/http that count every 5xx: the suites hold that counter to zero.
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { BASE_URL } from './env.js';

// Incremented by 0 or 1 on every response so the threshold always has samples to judge.
export const serverErrors = new Counter('http_5xx');

// GraphQL answers a server fault with HTTP 200 and extensions.code INTERNAL: counted apart, held to zero too.
export const graphqlInternal = new Counter('graphql_internal_errors');
const SERVER_FAULTS = ['INTERNAL', 'UNKNOWN', 'DATA_LOSS'];

export const THRESHOLDS = {
  checks: ['rate==1.0'],
  http_5xx: ['count==0'],
  graphql_internal_errors: ['count==0'],
};

function note(r) {
  serverErrors.add(r.status >= 500 ? 1 : 0);
  return r;
}

function urlOf(path) {
  return /^https?:\/\//.test(path) ? path : BASE_URL + path;
}

function query(params) {
  return Object.keys(params || {})
    .filter((k) => params[k] !== undefined && params[k] !== null)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`)
    .join('&');
}

export function withQuery(path, params) {
  const q = query(params);
  return q ? `${path}${path.includes('?') ? '&' : '?'}${q}` : path;
}

/**
 * One request. opts: token (Bearer), headers, tags (e.g. {name: '/api/orders/{id}'} to group URLs),
 * redirects (0: do not follow), form (object sent as x-www-form-urlencoded), raw (a string body sent as JSON).
 * A non-string body is JSON-encoded.
 */
export function request(method, path, body, opts = {}) {
  const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let payload = null;
  if (opts.form) {
    payload = opts.form; // k6 encodes an object as application/x-www-form-urlencoded
  } else if (opts.raw !== undefined) {
    payload = opts.raw;
    headers['Content-Type'] = headers['Content-Type'] || 'application/json';
  } else if (body !== undefined && body !== null) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  const params = { headers, tags: opts.tags || {} };
  if (opts.redirects !== undefined) params.redirects = opts.redirects;
  return note(http.request(method, urlOf(path), payload, params));
}

export const get = (path, opts) => request('GET', path, null, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const del = (path, opts) => request('DELETE', path, null, opts);

export function json(r) {
  try {
    return r.json();
  } catch (e) {
    return null;
  }
}

export function header(r, name) {
  const want = name.toLowerCase();
  for (const k of Object.keys(r.headers || {})) {
    if (k.toLowerCase() === want) return r.headers[k];
  }
  return undefined;
}

// POST /graphql; returns {r, body, data, errors}.
export function gql(queryText, variables, opts = {}) {
  const r = request('POST', '/graphql', { query: queryText, variables: variables || {} }, opts);
  const body = json(r) || {};
  const errors = Array.isArray(body.errors) ? body.errors : null;
  graphqlInternal.add((errors || []).some((e) => SERVER_FAULTS.includes((e.extensions || {}).code)) ? 1 : 0);
  return { r, body, data: body.data || null, errors };
}
