// The cart count in the header. The badge is an aria-live region, so screen
// readers hear the new count after every add, edit or checkout.

import { getCart } from './api.js';
import { session, isGuest } from './session.js';

let current = null;

export function cartCount(cart) {
  return (cart && cart.items ? cart.items : []).reduce((n, line) => n + (line.qty || 0), 0);
}

export function setCart(cart) {
  current = cart;
  const badge = document.getElementById('cart-count');
  if (badge) {
    const n = cartCount(cart);
    badge.textContent = String(n);
    badge.dataset.count = String(n);
  }
  // Phones: the count also sits beside the menu button, not only inside the closed menu.
  const phone = document.querySelector('[data-testid=phone-cart-link]');
  if (phone) {
    const n = cartCount(cart);
    phone.setAttribute('aria-label', `Cart, ${n} ${n === 1 ? 'item' : 'items'}`);
    phone.querySelector('.badge').textContent = String(n);
  }
}

export function cachedCart() {
  return current;
}

/** Refresh the badge from the server; silent on failure (the cart page reports errors). */
export async function refreshCart() {
  if (!session.authenticated && !isGuest()) {
    setCart(null);
    return null;
  }
  try {
    const cart = await getCart();
    setCart(cart);
    return cart;
  } catch {
    return null;
  }
}
