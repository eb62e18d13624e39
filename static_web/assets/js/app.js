// Storefront entry point: header (account, nav, search), hash router, views.
// Routes: #/  #/products  #/c/{slug}  #/p/{slug}  #/cart  #/checkout
//         #/orders  #/orders/{id}  #/wallet  #/account  #/forgot-password  #/reset-password?token=
//         #/admin  #/admin/low-stock  #/admin/orders  #/admin/sales  #/admin/shipping  #/admin/webhooks  #/admin/webhooks/{id}

import { refreshCart } from './cart-store.js';
import { alertRegion, clear, h, replace, showError } from './dom.js';
import { demoMode, loadManifest, pluginOn } from './plugins-ui.js';
import { isAdmin, loadSession, onSessionChange, session, signInUrl, signOut, signUpUrl, forgetGuest } from './session.js';

import * as accountView from './views/account.js';
import * as adminSalesView from './views/admin-sales.js';
import * as adminStockView from './views/admin-stock.js';
import * as adminWebhooksView from './views/admin-webhooks.js';
import * as adminView from './views/admin.js';
import * as cartView from './views/cart.js';
import * as catalogView from './views/catalog.js';
import * as checkoutView from './views/checkout.js';
import * as homeView from './views/home.js';
import * as ordersView from './views/orders.js';
import { forgot as forgotView, reset as resetView } from './views/password-reset.js';
import * as adminShippingView from './views/admin-shipping.js';
import * as productView from './views/product.js';
import * as walletView from './views/wallet.js';

const ROUTES = [
  { pattern: /^\/$/, view: homeView, nav: 'home' },
  { pattern: /^\/products$/, view: catalogView, nav: 'products', plugin: 'catalog' },
  { pattern: /^\/c\/([^/]+)$/, view: catalogView, nav: 'products', keys: ['slug'], plugin: 'catalog' },
  { pattern: /^\/p\/([^/]+)$/, view: productView, nav: 'products', keys: ['slug'], plugin: 'catalog' },
  { pattern: /^\/cart$/, view: cartView, nav: 'cart', plugin: 'orders' },
  { pattern: /^\/checkout$/, view: checkoutView, nav: 'cart', plugin: 'orders' },
  { pattern: /^\/order-link\/([^/]+)$/, view: ordersView, nav: 'orders', keys: ['token'], detail: true, guestLink: true, plugin: 'orders' },
  { pattern: /^\/orders$/, view: ordersView, nav: 'orders', auth: true, plugin: 'orders' },
  { pattern: /^\/orders\/([^/]+)$/, view: ordersView, nav: 'orders', keys: ['id'], auth: true, detail: true, plugin: 'orders' },
  { pattern: /^\/wallet$/, view: walletView, nav: 'wallet', auth: true, plugin: 'wallet' },
  { pattern: /^\/account$/, view: accountView, nav: 'account', auth: true },
  { pattern: /^\/forgot-password$/, view: forgotView, nav: 'account' },
  { pattern: /^\/reset-password$/, view: resetView, nav: 'account' },
  { pattern: /^\/admin$/, view: adminView, nav: 'admin', auth: true, admin: true, plugin: 'catalog' },
  { pattern: /^\/admin\/low-stock$/, view: adminStockView, nav: 'admin', auth: true, admin: true, plugin: 'catalog' },
  { pattern: /^\/admin\/sales$/, view: adminSalesView, nav: 'admin', auth: true, admin: true, plugin: 'orders' },
  { pattern: /^\/admin\/(orders|customers)$/, view: adminSalesView, nav: 'admin', keys: ['section'], auth: true, admin: true, plugin: 'orders' },
  { pattern: /^\/admin\/(orders)\/([^/]+)$/, view: adminSalesView, nav: 'admin', keys: ['section', 'id'], auth: true, admin: true, plugin: 'orders' },
  { pattern: /^\/admin\/shipping$/, view: adminShippingView, nav: 'admin', auth: true, admin: true, plugin: 'shipping' },
  { pattern: /^\/admin\/webhooks$/, view: adminWebhooksView, nav: 'admin', auth: true, admin: true, plugin: 'webhooks' },
  { pattern: /^\/admin\/webhooks\/([^/]+)$/, view: adminWebhooksView, nav: 'admin', keys: ['id'], auth: true, admin: true, plugin: 'webhooks' },
];

let navToken = 0;

export function parseHash(hash = location.hash) {
  const raw = (hash || '').replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(qs) };
}

/** Build "#/path?k=v" dropping empty values. */
export function hashFor(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

function setTitle(text) {
  document.title = text ? `${text} · Shop` : 'Shop';
}

function markNav(nav) {
  for (const a of document.querySelectorAll('.site-nav [data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function signInPrompt(main, message) {
  replace(main,
    h('div', { class: 'panel narrow-panel', testid: 'sign-in-required' },
      h('h1', { tabindex: '-1' }, 'Sign in required'),
      h('p', null, message),
      h('div', { class: 'row' },
        h('a', { class: 'btn', href: signInUrl(), testid: 'sign-in-prompt-link' }, 'Sign in'),
        h('a', { class: 'btn btn-secondary', href: signUpUrl() }, 'Create an account'))));
}

async function route() {
  navToken += 1;
  const token = navToken;
  const main = document.getElementById('main');
  const { path, query } = parseHash();
  closeMobileNav();
  let match = null;
  let params = {};
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m) {
      match = r;
      params = Object.fromEntries((r.keys || []).map((k, i) => [k, decodeURIComponent(m[i + 1])]));
      break;
    }
  }
  markNav(match ? match.nav : null);
  clear(document.getElementById('global-alert'));
  const ctx = {
    params,
    query,
    detail: Boolean(match && match.detail),
    alive: () => token === navToken,
    setTitle,
    navigate: (hash) => { location.hash = hash; },
    hashFor,
  };
  if (match && match.plugin && !pluginOn(match.plugin)) match = null; // what a disabled plugin provides is not there
  if (!match) {
    setTitle('Not found');
    replace(main, h('div', { class: 'notice', testid: 'not-found' },
      h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', null, 'That page does not exist. '), h('a', { href: '#/' }, 'Back to the shop')));
  } else if (match.auth && !session.authenticated) {
    setTitle('Sign in');
    signInPrompt(main, session.wasSignedIn ? 'Your session expired, sign in again.' : 'Please sign in to see this page.');
  } else if (match.admin && !isAdmin()) {
    setTitle('Not allowed');
    replace(main, h('div', { class: 'notice', testid: 'admin-denied' },
      h('h1', { tabindex: '-1' }, 'Admins only'), h('p', null, 'This area is for shop administrators.')));
  } else {
    try {
      await match.view.render(main, ctx);
    } catch (err) {
      // A view that failed to render still tells the shopper what happened.
      if (!ctx.alive()) return;
      const region = alertRegion('page-error');
      replace(main, region);
      showError(region, err, { session });
    }
  }
  if (!ctx.alive()) return;
  // Move focus to the new page's heading so screen readers announce it,
  // but not on first load (keep the page's natural start).
  if (routedOnce) {
    const heading = main.querySelector('h1');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
  routedOnce = true;
}
let routedOnce = false;

// ---------------------------------------------------------------- header

function closeMobileNav() {
  const nav = document.getElementById('site-nav');
  const toggle = document.getElementById('nav-toggle');
  if (nav && toggle) {
    nav.classList.remove('open');
    toggle.setAttribute('aria-expanded', 'false');
  }
}

function renderAccount() {
  const box = document.getElementById('account');
  for (const li of document.querySelectorAll('.auth-only')) li.hidden = !session.authenticated;
  for (const li of document.querySelectorAll('.admin-only')) li.hidden = !isAdmin();
  hideDisabled();
  if (!session.authenticated) {
    replace(box,
      h('a', { href: signInUrl(), testid: 'sign-in-link' }, 'Sign in'),
      h('a', { href: signUpUrl(), testid: 'sign-up-link' }, 'Sign up'));
    return;
  }
  const user = session.user || {};
  const errorBox = h('span', { class: 'visually-hidden', role: 'alert', testid: 'sign-out-error' });
  const button = h('button', {
    type: 'button', class: 'linklike', testid: 'sign-out',
    onclick: async () => {
      button.disabled = true;
      try {
        await signOut();
      } catch (err) {
        button.disabled = false;
        const region = document.getElementById('global-alert');
        replace(region, h('div', { class: 'alert alert-error' }, err.message || 'Sign-out failed. Please try again.'));
      }
    },
  }, 'Sign out');
  replace(box,
    // The name leads to the account page (profile, password, connected applications).
    h('a', { href: '#/account', class: 'user-name', testid: 'user-name', title: user.email || '', dataset: { nav: 'account' },
      'aria-label': `Your account, ${user.name || user.email || ''}` }, user.name || user.email || 'Account'),
    button, errorBox);
}

// Links to what a disabled plugin would provide (data-plugin in index.html) are hidden.
function hideDisabled() {
  for (const el of document.querySelectorAll('[data-plugin]')) if (!pluginOn(el.dataset.plugin)) el.hidden = true;
  // The admin area opens on its first tab that exists (Catalog needs the catalog plugin).
  const admin = document.querySelector('[data-testid="admin-link"]');
  if (admin && !pluginOn('catalog')) admin.href = pluginOn('orders') ? '#/admin/orders' : '#/admin/webhooks';
}

function wireHeader() {
  const toggle = document.getElementById('nav-toggle');
  const nav = document.getElementById('site-nav');
  toggle.addEventListener('click', () => {
    const open = !nav.classList.contains('open');
    nav.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && nav.classList.contains('open')) {
      closeMobileNav();
      toggle.focus();
    }
  });
  const search = document.getElementById('header-search');
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = search.elements.q.value.trim();
    location.hash = hashFor('/products', { q });
  });
  // The skip link targets #main; with hash routing a plain anchor would change
  // the route, so move focus instead.
  document.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
}

/** Demo mode (manifest): one line under the header says what is not real. */
function showDemoBanner() {
  if (!demoMode()) return;
  const parts = ['Demo shop: no real money moves.'];
  if (pluginOn('orders')) parts.push('Pay with the test card 4242 4242 4242 4242 (any future expiry, any CVC).');
  if (pluginOn('wallet')) parts.push('Wallet top-ups are free.');
  const banner = h('div', { class: 'demo-banner', role: 'note', 'aria-label': 'Demo mode', testid: 'demo-banner' },
    h('div', { class: 'container' }, h('p', null, parts.join(' '))));
  document.querySelector('.site-header').after(banner);
}

async function start() {
  wireHeader();
  onSessionChange(renderAccount);
  await Promise.all([loadSession(), loadManifest()]);
  if (session.authenticated) forgetGuest(); // the server merged any guest cart into the account's
  hideDisabled();
  showDemoBanner();
  window.addEventListener('hashchange', route);
  // Sign-in links carry the current view as `next`: keep them current.
  window.addEventListener('hashchange', () => { if (!session.authenticated) renderAccount(); });
  await Promise.all([route(), pluginOn('orders') ? refreshCart() : null]);
  document.documentElement.dataset.ready = 'true'; // a stable hook for browser tests
}

start();
