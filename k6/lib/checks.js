// Named checks for the shapes the public contract fixes (RFC 9457 problems, GraphQL errors, pages).
import { check } from 'k6';
import { header, json } from './http.js';

// check() with one named assertion; a throwing predicate counts as a failure, not a crash.
export function expect(value, name, predicate) {
  return check(value, {
    [name]: (v) => {
      try {
        return Boolean(predicate(v));
      } catch (e) {
        return false;
      }
    },
  });
}

export function status(r, want, what) {
  const wants = Array.isArray(want) ? want : [want];
  const ok = expect(r, `${what}: status ${wants.join('/')}`, (x) => wants.includes(x.status));
  if (!ok) console.warn(`${what}: got ${r.status} ${String(r.body).slice(0, 300)}`);
  return ok;
}

/** A problem+json error: status, code, optional reason and optional field named in errors[]. */
export function problem(r, want, what, { code, reason, field } = {}) {
  const ok = status(r, want, what);
  const body = json(r) || {};
  const results = [ok];
  results.push(expect(r, `${what}: problem+json`, (x) =>
    String(header(x, 'Content-Type')).startsWith('application/problem+json')));
  results.push(expect(body, `${what}: problem has status/title`, (b) =>
    (Array.isArray(want) ? want : [want]).includes(b.status) && typeof b.title === 'string'));
  if (code) results.push(expect(body, `${what}: code ${code}`, (b) => b.code === code));
  if (reason) results.push(expect(body, `${what}: reason ${reason}`, (b) => b.reason === reason));
  if (field) {
    results.push(expect(body, `${what}: errors[].field ${field}`, (b) =>
      Array.isArray(b.errors) && b.errors.some((e) => e.field === field && typeof e.message === 'string')));
  }
  if (results.some((x) => !x)) console.warn(`${what}: ${r.status} ${String(r.body).slice(0, 300)}`);
  return results.every((x) => x);
}

/** A GraphQL error with extensions.code (and reason / field). */
export function gqlError(res, what, { code, reason, field } = {}) {
  const errs = res.errors || [];
  const e = errs[0] || {};
  const ext = e.extensions || {};
  const results = [
    expect(res.r, `${what}: HTTP 200 or 4xx`, (r) => r.status === 200 || (r.status >= 400 && r.status < 500)),
    expect(errs, `${what}: has errors`, (x) => x.length > 0),
  ];
  if (code) results.push(expect(ext, `${what}: extensions.code ${code}`, (x) => x.code === code));
  if (reason) results.push(expect(ext, `${what}: extensions.reason ${reason}`, (x) => x.reason === reason));
  if (field) {
    results.push(expect(ext, `${what}: extensions.errors[].field ${field}`, (x) =>
      Array.isArray(x.errors) && x.errors.some((f) => f.field === field)));
  }
  if (results.some((x) => !x)) console.warn(`${what}: ${res.r.status} ${String(res.r.body).slice(0, 300)}`);
  return results.every((x) => x);
}

/** A successful GraphQL answer: HTTP 200, no errors, data present. */
export function gqlOk(res, what) {
  const ok = expect(res, `${what}: ok`, (x) => x.r.status === 200 && !x.errors && x.data);
  if (!ok) console.warn(`${what}: ${res.r.status} ${String(res.r.body).slice(0, 400)}`);
  return ok;
}

export function isPage(p, page, pageSize) {
  return p && Array.isArray(p.items) && p.page === page && p.pageSize === pageSize && Number.isInteger(p.total);
}

// Catalog v2 shapes as plain strings (parsed JSON objects do not keep their key order here).
export function optionsText(options) {
  return (options || []).map((o) => `${o.name}:${o.values.join('|')}`).join(';');
}

export function facetOptionsText(facets) {
  return ((facets && facets.options) || []).map((o) => `${o.name}:${o.values.map((v) => `${v.value}=${v.count}`)
    .join('|')}`).join(';');
}
