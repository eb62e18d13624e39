// Checkout v2: where to ship (address book or a new address), how (shipping method), how to
// pay (wallet, or a card through a payment intent), and, for a card, the exact sums of the
// order (subtotal, shipping, tax, total) shown before the card is charged.
//
// Card flow: "Review and pay" creates the order (awaiting payment, sums final, stock held);
// the card is typed into the provider's own frame (hosted-fields.js), which returns a token;
// confirmPayment charges it. A card that asks for an extra step (requires_action) gets it,
// then the same token is confirmed again. The shop's page never holds a card-number input.
//
// One idempotency key per attempt: kept when the network fails (a retry cannot charge or
// order twice), renewed after any answer from the server.

import {
  checkoutByCard, checkoutWalletTo, confirmPayment, createAddress, getCart, getMyAddresses, getShippingMethods,
  getWalletCurrencies, getWallets, newIdempotencyKey, quoteCheckout,
} from '../api.js';
import { refreshCart, setCart } from '../cart-store.js';
import { alertRegion, busy, clearAlert, clearFieldErrors, field, h, replace, showError, skeletonLines } from '../dom.js';
import { formatMoney } from '../money.js';
import { demoMode } from '../plugins-ui.js';
import { session, signInUrl } from '../session.js';
import { orderSums, quoteSums } from './order-parts.js';

export const TEST_CARDS = [
  { number: '4242424242424242', outcome: 'Succeeds' },
  { number: '4000002500003155', outcome: 'Asks for an extra step, then succeeds' },
  { number: '4000000000000002', outcome: 'Declined' },
  { number: '4000000000009995', outcome: 'Insufficient funds' },
  { number: '4000000000000119', outcome: 'Processing error' },
];

const HOSTED_FIELDS = '/test-provider/hosted-fields.js';

function demoCards(testid = 'test-cards') {
  return h('details', { class: 'demo-cards', testid },
    h('summary', null, 'Test cards (demo mode)'),
    h('p', { class: 'muted' }, 'No real money moves. Use any future expiry date and any 3-digit CVC.'),
    h('table', null,
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Card number'), h('th', { scope: 'col' }, 'Result'))),
      h('tbody', null, TEST_CARDS.map((c) => h('tr', null, h('td', { class: 'mono' }, c.number), h('td', null, c.outcome))))));
}

function addressText(a) {
  return [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(' '), a.region, a.country]
    .filter(Boolean).join(', ');
}

/** The inline address form's fields (names match the API's address). */
export function addressFields(prefix = 'a') {
  const f = (label, name, attrs = {}, extra = {}) => field({ label, name, testid: `${prefix}-${name}`, attrs: { maxlength: 200, ...attrs }, ...extra });
  return h('div', { class: 'form-grid cols-2' },
    h('div', { class: 'span-all' }, f('Full name', 'name', { autocomplete: 'name', required: true })),
    h('div', { class: 'span-all' }, f('Address', 'line1', { autocomplete: 'address-line1', required: true })),
    h('div', { class: 'span-all' }, f('Address line 2 (optional)', 'line2', { autocomplete: 'address-line2' })),
    f('City', 'city', { autocomplete: 'address-level2', required: true }),
    f('Postal code', 'postalCode', { autocomplete: 'postal-code', maxlength: 20 }),
    f('Region (optional)', 'region', { autocomplete: 'address-level1' }),
    f('Country code', 'country', { autocomplete: 'country', maxlength: 2, required: true }, { hint: 'Two letters, e.g. DE, US, FR' }),
    h('div', { class: 'span-all' }, f('Phone (optional)', 'phone', { autocomplete: 'tel', type: 'tel', maxlength: 40 })));
}

/** Reads the address fields of `form`; returns {address} or {problems}. */
export function readAddress(form) {
  const v = (n) => (form.elements[n] ? form.elements[n].value.trim() : '');
  // Empty optional fields are left out (undefined is dropped by JSON): the API wants a string or nothing.
  const a = { name: v('name'), line1: v('line1'), line2: v('line2') || undefined, city: v('city'),
    postalCode: v('postalCode') || undefined, region: v('region') || undefined, country: v('country').toUpperCase(),
    phone: v('phone') || undefined };
  const problems = [];
  if (!a.name) problems.push({ field: 'name', message: 'Enter the name to ship to.' });
  if (!a.line1) problems.push({ field: 'line1', message: 'Enter the street address.' });
  if (!a.city) problems.push({ field: 'city', message: 'Enter the city.' });
  if (!/^[A-Z]{2}$/.test(a.country)) problems.push({ field: 'country', message: 'Enter the two-letter country code.' });
  return problems.length ? { problems } : { address: a };
}

function invalid(error, form, fieldErrors, message = 'Some details are missing') {
  showError(error, { code: 'INVALID_ARGUMENT', message, fieldErrors }, { form });
}

export async function render(main, ctx) {
  ctx.setTitle('Checkout');
  const guest = !session.authenticated;
  const error = alertRegion('checkout-error');
  const body = h('div', { class: 'two-col', 'aria-busy': 'true' },
    h('div', { class: 'panel' }, skeletonLines(8)), h('div', { class: 'panel' }, skeletonLines(3)));
  replace(main, h('h1', { tabindex: '-1' }, 'Checkout'), error, body);

  let cart;
  let wallets = [];
  let addresses = [];
  let accepted = [];
  try {
    [cart, wallets, addresses, accepted] = await Promise.all([getCart(),
      guest ? [] : getWallets().catch(() => []),
      guest ? [] : getMyAddresses().catch(() => []),
      getWalletCurrencies().then((cs) => cs.map((c) => c.code)).catch(() => [])]);
  } catch (err) {
    if (!ctx.alive()) return;
    replace(body);
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  setCart(cart);
  body.removeAttribute('aria-busy');
  if (!cart.items.length) {
    replace(body, h('div', { class: 'notice', testid: 'cart-empty' }, h('p', null, 'Your cart is empty.'),
      h('a', { class: 'btn', href: '#/products' }, 'Start shopping')));
    return;
  }

  let idempotencyKey = newIdempotencyKey();
  const cartCurrencies = cart.totals.map((t) => t.currency);
  const payCurrencies = [...new Set([...cartCurrencies, ...accepted])];
  const currency = () => (methodCard.checked ? form.elements.currency.value : form.elements.walletCurrency.value);

  // ---- contact (guests)
  const contact = guest ? h('fieldset', { testid: 'contact' }, h('legend', null, 'Contact'),
    field({ label: 'Email', name: 'email', type: 'email', testid: 'guest-email',
      hint: 'Your receipt and the link to your order go here.', attrs: { autocomplete: 'email', maxlength: 254, required: true } }),
    h('p', { class: 'muted' }, 'Have an account? ', h('a', { href: signInUrl('/#/checkout'), testid: 'signin-to-checkout' }, 'Sign in'),
      ' and your cart comes with you.')) : null;

  // ---- where
  const newAddr = h('div', { testid: 'new-address' }, addressFields('addr'),
    guest ? null : h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'saveAddress', checked: true, testid: 'save-address' }),
      'Save to my address book'));
  const addrRadios = addresses.map((a, i) => h('label', { class: 'choice address-choice', testid: 'address-option', dataset: { id: a.id } },
    h('input', { type: 'radio', name: 'addressId', value: a.id, checked: i === 0, dataset: { country: a.country } }),
    h('span', null, addressText(a))));
  const newRadio = addresses.length ? h('label', { class: 'choice', testid: 'address-new' },
    h('input', { type: 'radio', name: 'addressId', value: '', checked: false }), 'A new address') : null;
  const where = h('fieldset', { testid: 'ship-to' }, h('legend', null, 'Ship to'), addrRadios, newRadio, newAddr);

  // ---- how (shipping method, per country and currency)
  const methodsBox = h('div', { testid: 'shipping-methods', 'aria-live': 'polite' },
    h('p', { class: 'muted' }, 'Enter the country to see the shipping methods.'));
  const how = h('fieldset', null, h('legend', null, 'Shipping method'), methodsBox);

  // ---- pay with
  const methodWallet = h('input', { type: 'radio', name: 'method', value: 'wallet', checked: wallets.length > 0, disabled: !wallets.length, testid: 'pay-wallet' });
  const methodCard = h('input', { type: 'radio', name: 'method', value: 'card', checked: !wallets.length, testid: 'pay-card' });
  const preferred = wallets.find((w) => cartCurrencies.includes(w.currency)) || wallets[0];
  const walletSection = h('div', { testid: 'wallet-section' },
    wallets.length
      ? field({ label: 'Pay from wallet', name: 'walletCurrency', type: 'select', value: preferred ? preferred.currency : '', testid: 'wallet-currency',
        options: wallets.map((w) => ({ value: w.currency, label: `${w.currency} wallet: ${formatMoney(w.balanceMinor, w.currency)} available` })) })
      : h('p', { class: 'muted' }, guest ? 'Guests pay by card.' : ['You have no wallet yet. ', h('a', { href: '#/wallet' }, 'Top up a wallet'), ' or pay by card.']));
  const cardSection = h('div', { testid: 'card-section' },
    field({ label: 'Charge in', name: 'currency', type: 'select', value: cartCurrencies[0], testid: 'card-currency',
      options: payCurrencies.map((c) => ({ value: c, label: c })) }),
    h('p', { class: 'muted' }, 'The order summary shows the exact total, with shipping and tax; you confirm it before you enter your card.'),
    demoMode() ? demoCards() : null);
  const pay = h('fieldset', null, h('legend', null, 'Payment method'),
    guest ? null : h('label', { class: 'choice' }, methodWallet, 'Wallet'),
    h('label', { class: 'choice' }, methodCard, 'Card'),
    walletSection, cardSection);

  const submit = h('button', { type: 'submit', class: 'btn btn-block', testid: 'place-order' }, 'Review and pay');
  const form = h('form', { class: 'panel', novalidate: true, testid: 'checkout-form' }, contact, where, how, pay, submit);

  const chosenAddressId = () => {
    const r = form.querySelector('input[name="addressId"]:checked');
    return r ? r.value : '';
  };
  const country = () => {
    const id = chosenAddressId();
    if (id) return form.querySelector('input[name="addressId"]:checked').dataset.country;
    return (form.elements.country.value || '').trim().toUpperCase();
  };

  let methodsFor = '';
  const loadMethods = async () => {
    const c = country();
    const cur = currency();
    const key = `${c}/${cur}`;
    if (key === methodsFor) return;
    methodsFor = key;
    if (!/^[A-Z]{2}$/.test(c) || !cur) {
      replace(methodsBox, h('p', { class: 'muted' }, 'Enter the country to see the shipping methods.'));
      return;
    }
    replace(methodsBox, skeletonLines(2));
    try {
      const methods = await getShippingMethods(c, cur);
      if (!ctx.alive() || methodsFor !== key) return;
      replace(methodsBox, methods.length
        ? methods.map((m, i) => h('label', { class: 'choice', testid: 'shipping-option', dataset: { id: m.id } },
          h('input', { type: 'radio', name: 'shippingMethodId', value: m.id, checked: i === 0 }),
          h('span', null, m.name), h('span', { class: 'muted' }, ` ${m.priceMinor ? formatMoney(m.priceMinor, m.currency) : 'Free'}`)))
        : h('p', { class: 'muted', testid: 'no-shipping' }, `No shipping to ${c} in ${cur}.`));
      refreshQuote();
    } catch (err) {
      methodsFor = '';
      if (ctx.alive()) showError(error, err, { session });
    }
  };

  // ---- the exact sums before paying (wallet and card): the shop's own arithmetic, nothing moves
  const quoteBox = h('div', { testid: 'checkout-quote', 'aria-live': 'polite' },
    h('p', { class: 'muted' }, 'Choose where to ship to see shipping, tax and the total.'));
  const shipChoice = () => {
    const ship = {};
    const id = chosenAddressId();
    if (id) ship.addressId = id;
    else {
      const got = readAddress(form);
      if (!got.address) return null;
      ship.shippingAddress = got.address;
    }
    const m = form.querySelector('input[name="shippingMethodId"]:checked');
    if (!m) return null;
    ship.shippingMethodId = m.value;
    return ship;
  };
  let quoteSeq = 0;
  let lastQuote = null; // its tax-inclusiveness labels the pay step's sums
  const refreshQuote = async () => {
    const seq = ++quoteSeq;
    const ship = shipChoice();
    const cur = currency();
    if (!ship || !cur) {
      replace(quoteBox, h('p', { class: 'muted' }, 'Choose where to ship to see shipping, tax and the total.'));
      return;
    }
    try {
      const q = await quoteCheckout(cur, ship);
      if (!ctx.alive() || seq !== quoteSeq) return;
      lastQuote = q;
      replace(quoteBox, quoteSums(q));
    } catch (err) {
      if (!ctx.alive() || seq !== quoteSeq) return;
      replace(quoteBox, h('p', { class: 'muted', testid: 'quote-unavailable' },
        err.code === 'NETWORK' ? 'The total could not be worked out right now; it is shown again before you pay.'
          : (err.message || 'The total is shown before you pay.')));
    }
  };

  const sync = () => {
    const card = methodCard.checked;
    walletSection.hidden = card;
    cardSection.hidden = !card;
    newAddr.hidden = Boolean(chosenAddressId());
    submit.textContent = card ? 'Review and pay' : 'Place order and pay from wallet';
    loadMethods().then(refreshQuote);
  };
  form.addEventListener('change', sync);
  form.elements.country.addEventListener('input', () => { if (/^[A-Za-z]{2}$/.test(form.elements.country.value.trim())) loadMethods(); });
  // Typing the rest of a new address completes the quote once the address is whole.
  form.addEventListener('focusout', (e) => { if (e.target.closest && e.target.closest('[data-testid="new-address"]')) refreshQuote(); });
  sync();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(error);
    clearFieldErrors(form);
    const problems = [];
    let email = null;
    if (guest) {
      email = form.elements.email.value.trim();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) problems.push({ field: 'email', message: 'Enter your email address.' });
    }
    let ship = {};
    const addressId = chosenAddressId();
    if (addressId) ship.addressId = addressId;
    else {
      // Nothing typed: no address sent (the shop says whether this cart needs one: SHIPPING_REQUIRED).
      const typed = ['name', 'line1', 'city', 'country'].some((n) => form.elements[n].value.trim());
      const got = typed ? readAddress(form) : {};
      if (got.problems) problems.push(...got.problems);
      else if (got.address) ship.shippingAddress = got.address;
    }
    const methodInput = form.querySelector('input[name="shippingMethodId"]:checked');
    if (methodInput) ship.shippingMethodId = methodInput.value;
    if (problems.length) {
      invalid(error, form, problems);
      return;
    }
    try {
      await busy(submit, async () => {
        if (ship.shippingAddress && !guest && form.elements.saveAddress && form.elements.saveAddress.checked) {
          const saved = await createAddress(ship.shippingAddress);
          ship = { addressId: saved.id, shippingMethodId: ship.shippingMethodId };
          form.elements.saveAddress.checked = false; // saved once, even if what follows fails
        }
        if (methodCard.checked) {
          const order = await checkoutByCard(form.elements.currency.value, ship, email, idempotencyKey);
          idempotencyKey = newIdempotencyKey();
          await refreshCart();
          if (ctx.alive()) payStep(main, ctx, order, guest, lastQuote);
        } else {
          const order = await checkoutWalletTo(form.elements.walletCurrency.value, ship, idempotencyKey);
          idempotencyKey = newIdempotencyKey();
          await refreshCart();
          ctx.navigate(`#/orders/${encodeURIComponent(order.id)}?placed=1`);
        }
      });
    } catch (err) {
      if (err.code !== 'NETWORK') idempotencyKey = newIdempotencyKey();
      if (!ctx.alive()) return;
      showError(error, err, { form, session });
      if (err.reason === 'INSUFFICIENT_FUNDS' && !methodCard.checked) error.append(' ', h('a', { href: '#/wallet' }, 'Top up your wallet'));
    }
  });

  replace(body, form,
    h('aside', { class: 'panel', 'aria-labelledby': 'order-summary' },
      h('h2', { id: 'order-summary' }, 'Order summary'),
      h('ul', { class: 'summary-lines' }, cart.items.map((i) => h('li', { class: 'summary-line', testid: 'checkout-line' },
        h('span', null, `${i.qty} × ${i.name}${(i.options || []).length ? ` (${i.options.map((o) => o.value).join(', ')})` : ''}`),
        h('span', { class: 'muted' }, formatMoney(i.lineTotalMinor, i.currency))))),
      quoteBox,
      h('a', { href: '#/cart' }, 'Edit cart')));
}

/** Step 2 of a card checkout: the order's final sums, the provider's card frame, "Pay <total>". */
async function payStep(main, ctx, order, guest, quote) {
  const error = alertRegion('pay-error');
  const total = formatMoney(order.totalMinor, order.currency);
  const frameBox = h('div', { class: 'card-frame-box', testid: 'card-field' });
  const payBtn = h('button', { type: 'submit', class: 'btn btn-block', testid: 'pay-now' }, `Pay ${total}`);
  const status = h('p', { class: 'muted', role: 'status', testid: 'pay-status' });
  const form = h('form', { class: 'panel', novalidate: true, testid: 'pay-form' },
    h('h2', null, 'Card'), frameBox, status, demoMode() ? demoCards('test-cards-pay') : null, payBtn);
  const heading = h('h1', { tabindex: '-1' }, 'Review and pay');
  replace(main, heading, error,
    h('div', { class: 'two-col' }, form,
      h('aside', { class: 'panel', 'aria-labelledby': 'quote-h', testid: 'quote' },
        h('h2', { id: 'quote-h' }, 'What you will be charged'),
        h('ul', { class: 'summary-lines' }, order.items.map((i) => h('li', { class: 'summary-line' },
          h('span', null, `${i.qty} × ${i.name}`), h('span', { class: 'muted' }, formatMoney(i.lineTotalMinor, i.currency))))),
        orderSums(order, quote && quote.currency === order.currency ? quote : {}),
        quote && quote.taxInclusive && quote.currency === order.currency
          ? h('p', { class: 'muted quote-note' }, `Prices include ${quote.taxRate}% tax.`) : null,
        h('p', { class: 'muted' }, 'This order is held for you while you pay.'))));
  heading.focus();

  let field;
  try {
    const provider = await import(HOSTED_FIELDS);
    if (!ctx.alive()) return;
    field = provider.mountCardField(frameBox, { title: 'Card number, expiry and CVC' });
    const done = async () => {
      const where = guest ? `#/order-link/${encodeURIComponent(order.orderLink)}?placed=1` : `#/orders/${encodeURIComponent(order.id)}?placed=1`;
      await refreshCart();
      ctx.navigate(where);
    };
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(error);
      try {
        await busy(payBtn, async () => {
          const { token } = await field.tokenize();
          let intent = await confirmPayment(order.payment.id, token);
          if (intent.status === 'requires_action' && intent.nextAction) {
            status.textContent = 'Your bank asks you to confirm this payment…';
            await provider.completeAction(intent.nextAction);
            intent = await confirmPayment(order.payment.id, token);
          }
          if (['succeeded', 'requires_capture'].includes(intent.status)) {
            status.textContent = 'Paid.';
            await done();
          } else {
            throw Object.assign(new Error(intent.lastError || `The payment is ${intent.status}.`), { code: 'FAILED_PRECONDITION' });
          }
        });
      } catch (err) {
        if (!ctx.alive()) return;
        status.textContent = '';
        if (err.code === 'CARD_INVALID') showError(error, { code: 'INVALID_ARGUMENT', message: err.message });
        else showError(error, err, { session });
        error.scrollIntoView({ block: 'center' });
      }
    });
  } catch (err) {
    if (ctx.alive()) showError(error, { code: 'UNAVAILABLE', message: 'The card payment form could not be loaded. Try again in a moment.' });
  }
}
