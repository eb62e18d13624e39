// Small DOM helpers. Everything is built with createElement/textContent, never
// innerHTML, so shop data (product names, memos) can never become markup.

import { signInUrl } from './session.js';

/**
 * h('a', {href: '#/', class: 'x', dataset: {testid: 'y'}, onclick: fn}, 'text', child, [more])
 * Attributes set to null/undefined/false are skipped; `true` sets an empty attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'testid') el.dataset.testid = value;
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'value') el.value = value;
      else if (key === 'checked' || key === 'selected' || key === 'disabled') el[key] = Boolean(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled form field: label + control + hint + an error slot that
 * showFieldErrors() fills. `name` is the API field name (camelCase), so server
 * field errors land next to the right control.
 */
export function field({ label, name, type = 'text', value = '', hint, attrs = {}, options, testid, control }) {
  const id = attrs.id || nextId(`f-${name}`);
  const errId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  let input;
  if (control) {
    input = control;
  } else if (type === 'select') {
    input = h('select', { id, name, testid, ...attrs },
      (options || []).map((o) => h('option', { value: o.value, selected: String(o.value) === String(value) }, o.label)));
  } else if (type === 'textarea') {
    input = h('textarea', { id, name, testid, ...attrs });
    input.value = value ?? '';
  } else {
    input = h('input', { id, name, type, testid, ...attrs, value: value ?? '' });
  }
  input.id = id;
  input.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: name } },
    h('label', { for: id }, label),
    input,
    hint ? h('span', { class: 'hint', id: hintId }, hint) : null,
    h('span', { class: 'field-error', id: errId, dataset: { errorFor: name } }));
}

/** An alert region placed next to an action. Starts empty (CSS hides it). */
export function alertRegion(testid) {
  return h('div', { class: 'alert', role: 'alert', 'aria-live': 'assertive', testid: testid || 'error' });
}

export function showOk(region, message, { focus = true } = {}) {
  region.className = 'alert alert-ok';
  region.setAttribute('role', 'status');
  replace(region, message);
  if (focus) reveal(region, true);
}

/**
 * Bring a message into view below the sticky header (CSS scroll-margin-top on
 * .alert) and, when nothing better has focus, move keyboard focus to it, so the
 * result of an action is where the shopper's focus and eyes are.
 */
export function reveal(region, focus) {
  if (!region.isConnected) return;
  if (focus) {
    region.setAttribute('tabindex', '-1');
    region.focus({ preventScroll: true });
  }
  const top = region.getBoundingClientRect().top;
  const header = document.querySelector('.site-header');
  const below = header ? header.getBoundingClientRect().bottom : 0;
  if (top < below || top > window.innerHeight - 40) region.scrollIntoView({ block: 'center' });
}

/**
 * A whole quantity typed by a shopper, or null: "1.5", "2e1", "-1", "" are
 * refused instead of being silently truncated as parseInt would.
 */
export function parseQty(text, { min = 1, max = 999 } = {}) {
  const t = String(text ?? '').trim();
  if (!/^\d{1,6}$/.test(t)) return null;
  const n = Number(t);
  return n >= min && n <= max ? n : null;
}

export function clearAlert(region) {
  region.className = 'alert';
  region.setAttribute('role', 'alert');
  clear(region);
}

/** Clear all field errors inside a form. */
export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll('.field-error')) clear(slot);
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/** Server validation texts start lowercase and may quote a regex; make them readable. */
function fieldMessage(message) {
  const m = String(message || '');
  if (/^must match /.test(m)) return 'Has the wrong format.';
  return sentence(m);
}

/**
 * Put server field messages next to the fields. Field names may come as
 * `card.number`, `body.card.number` or `amountMinor`; an input whose name
 * matches the whole path or its last segment gets the message. Returns the
 * errors no field could take (shown in the alert instead).
 */
export function showFieldErrors(form, errors, aliases = {}) {
  const leftovers = [];
  let first = null;
  for (const error of errors || []) {
    // GraphQL names a bad variable `$name` and starts its message with it: the field is `name`.
    const path = String(error.field || '').replace(/^\$/, '');
    const message = String(error.message || '').replace(/^\$[A-Za-z_]\w*\s+/, '');
    const segments = String(path || '').split('.');
    const candidates = [path, segments[segments.length - 1], aliases[path], aliases[segments[segments.length - 1]]];
    let slot = null;
    for (const name of candidates) {
      if (!name) continue;
      slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) break;
    }
    if (!slot) { leftovers.push({ field: path, message }); continue; }
    replace(slot, fieldMessage(message));
    const input = slot.parentElement.querySelector('input, select, textarea');
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      if (!first) first = input;
    }
  }
  if (first) {
    first.focus({ preventScroll: true });
    reveal(first, false);
  }
  return leftovers;
}

/**
 * Render an ApiError (or any error) into an alert region, with field messages
 * next to fields when a form is given. Never shows a stack trace.
 */
export function showError(region, err, { form, aliases, session } = {}) {
  region.className = 'alert alert-error';
  region.setAttribute('role', 'alert');
  clear(region);
  const e = err || {};
  const all = e.fieldErrors || [];
  let leftovers = all;
  if (form) {
    clearFieldErrors(form);
    leftovers = showFieldErrors(form, all, aliases);
  }
  const fieldsShown = all.length > 0 && leftovers.length === 0;
  region.appendChild(document.createTextNode(friendlyMessage(e, session, { fieldsShown })));
  if (e.code === 'UNAUTHENTICATED') {
    region.append(' ', h('a', { href: signInUrl(), testid: 'sign-in-again' }, 'Sign in'));
  }
  if (leftovers.length) {
    const lines = [...new Set(leftovers.map(humanFieldError))].filter((t) => t && t !== region.textContent);
    if (lines.length) region.appendChild(h('ul', null, lines.map((t) => h('li', null, t))));
  }
  region.dataset.code = e.code || 'UNKNOWN';
  if (e.reason) region.dataset.reason = e.reason; else delete region.dataset.reason;
  const focused = form && form.contains(document.activeElement) && document.activeElement.getAttribute('aria-invalid');
  reveal(region, !focused);
}

// What a shopper calls the API's field names (paths such as `lines[0].qty` are
// internal: the last name, without indexes, is looked up here).
const FIELD_LABELS = {
  qty: 'Quantity', quantity: 'Quantity', amountMinor: 'Amount', amount: 'Amount', currency: 'Currency',
  number: 'Card number', cvc: 'Security code', expMonth: 'Expiry month', expYear: 'Expiry year', email: 'Email',
  toEmail: 'Recipient email', memo: 'Message', search: 'Search', q: 'Search', variantId: 'Option',
  productId: 'Product', priceMinor: 'Price', stockQty: 'Stock', minPrice: 'Minimum price', maxPrice: 'Maximum price',
  name: 'Name', slug: 'Web address', password: 'Password', file: 'Picture', alt: 'Description',
};

/** `lines[0].qty: must be at most 3` -> "Quantity: must be at most 3." (never the raw path). */
export function humanFieldError({ field: path, message }) {
  const last = String(path || '').split('.').pop().replace(/\[\d+\]/g, '');
  const text = fieldMessage(message);
  if (/^(lines|items)$/.test(last) || !last) return text;
  const label = FIELD_LABELS[last] || 'A value';
  return `${label}: ${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

const REASONS = {
  OUT_OF_STOCK: 'Sorry, there is not enough stock for one of the items.',
  INSUFFICIENT_FUNDS: 'Not enough funds for this payment.',
  CURRENCY_MISMATCH: 'These items cannot be paid in that currency.',
  CART_EMPTY: 'Your cart is empty.',
  CARD_DECLINED: 'Your card was declined.',
  UNSUPPORTED_IMAGE: 'That file is not a JPEG, PNG or WebP picture the shop can use.',
};

/** "recipient not found" -> "Recipient not found." */
function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const cap = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}

function words(text) {
  return new Set(String(text).toLowerCase().match(/[a-z]+/g) || []);
}

/** A shopper-facing sentence for an error: domain reason first, then status. */
export function friendlyMessage(e, session, { fieldsShown = false } = {}) {
  const detail = e.message && !/^(internal|unknown)/i.test(e.message) ? sentence(e.message) : '';
  if (e.reason && REASONS[e.reason]) {
    // Add the server's detail only when it says more than the reason (e.g. which product).
    // INSUFFICIENT_FUNDS details quote raw minor units, which would confuse a shopper.
    if (e.reason === 'INSUFFICIENT_FUNDS') return REASONS[e.reason];
    const declined = e.reason === 'CARD_DECLINED' && /declined\s*[:,-]\s*(.+)$/i.exec(detail);
    if (declined) return `Your card was declined: ${declined[1]}`;
    const known = words(`${REASONS[e.reason]} the a an your`);
    const extra = [...words(detail)].some((w) => !known.has(w));
    return extra ? `${REASONS[e.reason]} ${detail}` : REASONS[e.reason];
  }
  switch (e.code) {
    case 'UNAUTHENTICATED':
      return session && !session.authenticated && !session.wasSignedIn
        ? 'Please sign in to continue.'
        : 'Your session expired, sign in again.';
    case 'PERMISSION_DENIED': return 'You do not have permission to do that.';
    case 'NOT_FOUND': return detail || 'We could not find that.';
    case 'INVALID_ARGUMENT':
      if (fieldsShown) return 'Please correct the highlighted fields.';
      return detail || 'Please check what you entered.';
    case 'RESOURCE_EXHAUSTED': return `Too many requests. ${e.retryAfter ? `Try again in ${e.retryAfter} s.` : 'Please wait a moment and try again.'}`;
    case 'NETWORK': return 'Could not reach the shop. Check your connection and try again.';
    case 'UNAVAILABLE': return detail || 'The shop is temporarily unavailable. Please try again shortly.';
    case 'DEADLINE_EXCEEDED': return 'That took too long. Please try again.';
    case 'ALREADY_EXISTS': return detail || 'That already exists.';
    case 'FAILED_PRECONDITION':
    case 'ABORTED': return detail || 'That cannot be done right now.';
    case 'INTERNAL':
    case 'UNKNOWN':
    case undefined:
      return 'Something went wrong on our side. Please try again.';
    default: return detail || 'Something went wrong. Please try again.';
  }
}

/** Disable a button while an async action runs; returns the action's result. */
export async function busy(button, fn) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.dataset.label = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function skeletonCards(n) {
  return Array.from({ length: n }, () => h('li', { 'aria-hidden': 'true' }, h('div', { class: 'skeleton skeleton-card' })));
}

export function skeletonLines(n) {
  return h('div', { 'aria-hidden': 'true' },
    Array.from({ length: n }, (_, i) => h('div', { class: `skeleton skeleton-line ${i % 2 ? 'w50' : 'w80'}` })));
}

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
