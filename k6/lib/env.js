// Settings shared by every script, all from the environment (k6 run -e NAME=value, or the process env).
export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

// A value the script cannot run without: fail loudly, naming the variable.
export function required(name) {
  const v = __ENV[name];
  if (!v) throw new Error(`environment variable ${name} is required (see k6/README.md)`);
  return v;
}

export function intEnv(name, fallback) {
  const v = __ENV[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

// A suffix unique to this run, so a suite never collides with data of earlier runs (slugs are unique).
export function runId() {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

// Letters only: full-text search tokenises digits apart from letters, so a searchable marker has none.
export function letters(n) {
  const a = 'abcdefghijklmnopqrstuvwxyz';
  let s = '';
  let x = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  for (let i = 0; i < n; i++) {
    s += a[x % 26];
    x = Math.floor(x / 26) + Math.floor(Math.random() * 26);
  }
  return s;
}
