// Checkout: pay with a wallet (one currency) or a card (the test gateway).
// One idempotency key per attempt: kept when the network fails (a retry then
// cannot charge twice), renewed after any answer from the server.

import { checkoutWithCard, checkoutWithWallet, getCart, getWalletCurrencies, getWallets, newIdempotencyKey } from '../api.js';
import { refreshCart, setCart } from '../cart-store.js';
import { alertRegion, busy, clearAlert, clearFieldErrors, field, h, replace, showError, skeletonLines } from '../dom.js';
import { formatMoney } from '../money.js';
import { demoMode } from '../plugins-ui.js';
import { session } from '../session.js';
import { totalsList } from './cart.js';

export const TEST_CARDS = [
  { number: '4242424242424242', outcome: 'Succeeds' },
  { number: '4000000000000002', outcome: 'Declined' },
  { number: '4000000000009995', outcome: 'Insufficient funds' },
  { number: '4000000000000119', outcome: 'Processing error' },
];

function demoCards() {
  return h('details', { class: 'demo-cards', testid: 'test-cards', open: true },
    h('summary', null, 'Test cards (demo mode)'),
    h('p', { class: 'muted' }, 'No real money moves. Use any future expiry date and any 3-digit CVC.'),
    h('table', null,
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Card number'), h('th', { scope: 'col' }, 'Result'))),
      h('tbody', null, TEST_CARDS.map((c) => h('tr', null, h('td', { class: 'mono' }, c.number), h('td', null, c.outcome))))));
}

export async function render(main, ctx) {
  ctx.setTitle('Checkout');
  const error = alertRegion('checkout-error');
  const body = h('div', { class: 'two-col', 'aria-busy': 'true' },
    h('div', { class: 'panel' }, skeletonLines(8)), h('div', { class: 'panel' }, skeletonLines(3)));
  replace(main, h('h1', null, 'Checkout'), error, body);

  let cart;
  let wallets;
  let accepted;
  try {
    [cart, wallets, accepted] = await Promise.all([getCart(), getWallets(),
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
  // Cart currencies first; others are converted at the shop's configured rates (or refused).
  const payCurrencies = [...new Set([...cartCurrencies, ...accepted])];
  const walletOptions = wallets.map((w) => ({ value: w.currency, label: `${w.currency} wallet: ${formatMoney(w.balanceMinor, w.currency)} available` }));
  const preferred = wallets.find((w) => cartCurrencies.includes(w.currency)) || wallets[0];

  const methodWallet = h('input', { type: 'radio', name: 'method', value: 'wallet', checked: wallets.length > 0, disabled: !wallets.length, testid: 'pay-wallet' });
  const methodCard = h('input', { type: 'radio', name: 'method', value: 'card', checked: !wallets.length, testid: 'pay-card' });

  const walletSection = h('div', { testid: 'wallet-section' },
    wallets.length
      ? field({ label: 'Pay from wallet', name: 'walletCurrency', type: 'select', value: preferred ? preferred.currency : '', options: walletOptions, testid: 'wallet-currency' })
      : h('p', { class: 'muted' }, 'You have no wallet yet. ', h('a', { href: '#/wallet' }, 'Top up a wallet'), ' or pay by card.'));

  const year = new Date().getFullYear();
  const cardSection = h('div', { testid: 'card-section' },
    h('div', { class: 'form-grid cols-2' },
      h('div', { class: 'span-all' }, field({ label: 'Card number', name: 'number', value: '', testid: 'card-number',
        attrs: { inputmode: 'numeric', autocomplete: 'cc-number', maxlength: 23, placeholder: '4242 4242 4242 4242' } })),
      h('div', { class: 'span-all' }, field({ label: 'Name on card', name: 'holder', value: '', testid: 'card-holder', attrs: { autocomplete: 'cc-name', maxlength: 100 } })),
      field({ label: 'Expiry month', name: 'expMonth', type: 'select', value: '12', testid: 'card-exp-month',
        options: Array.from({ length: 12 }, (_, i) => ({ value: String(i + 1), label: String(i + 1).padStart(2, '0') })) }),
      field({ label: 'Expiry year', name: 'expYear', type: 'select', value: String(year + 2), testid: 'card-exp-year',
        options: Array.from({ length: 12 }, (_, i) => ({ value: String(year + i), label: String(year + i) })) }),
      field({ label: 'CVC', name: 'cvc', value: '', testid: 'card-cvc', attrs: { inputmode: 'numeric', autocomplete: 'cc-csc', maxlength: 4 } }),
      field({ label: 'Charge in', name: 'currency', type: 'select', value: cartCurrencies[0], testid: 'card-currency',
        options: payCurrencies.map((c) => ({ value: c, label: c })) })),
    demoMode() ? demoCards() : null);

  const submit = h('button', { type: 'submit', class: 'btn btn-block', testid: 'place-order' }, 'Place order');
  const form = h('form', { class: 'panel', novalidate: true, testid: 'checkout-form' },
    h('fieldset', null, h('legend', null, 'Payment method'),
      h('label', { class: 'choice' }, methodWallet, 'Wallet'),
      h('label', { class: 'choice' }, methodCard, 'Card')),
    walletSection, cardSection, submit);

  const syncMethod = () => {
    const card = methodCard.checked;
    walletSection.hidden = card;
    cardSection.hidden = !card;
  };
  methodWallet.addEventListener('change', syncMethod);
  methodCard.addEventListener('change', syncMethod);
  syncMethod();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(error);
    clearFieldErrors(form);
    const els = form.elements;
    let call;
    if (methodCard.checked) {
      const card = {
        number: els.number.value.replace(/[\s-]/g, ''),
        expMonth: Number(els.expMonth.value),
        expYear: Number(els.expYear.value),
        cvc: els.cvc.value.trim(),
        holder: els.holder.value.trim() || null,
      };
      const problems = [];
      if (!/^\d{12,19}$/.test(card.number)) problems.push({ field: 'number', message: 'Enter the card number (digits only).' });
      if (!/^\d{3,4}$/.test(card.cvc)) problems.push({ field: 'cvc', message: 'Enter the 3 or 4 digits on the back.' });
      if (problems.length) {
        showError(error, { code: 'INVALID_ARGUMENT', message: 'some card details are missing', fieldErrors: problems }, { form });
        return;
      }
      const currency = els.currency.value;
      call = () => checkoutWithCard(card, currency, idempotencyKey);
    } else {
      const walletCurrency = els.walletCurrency.value;
      call = () => checkoutWithWallet(walletCurrency, idempotencyKey);
    }
    try {
      const order = await busy(submit, call);
      idempotencyKey = newIdempotencyKey();
      await refreshCart();
      ctx.navigate(`#/orders/${encodeURIComponent(order.id)}?placed=1`);
    } catch (err) {
      if (err.code !== 'NETWORK') idempotencyKey = newIdempotencyKey();
      if (!ctx.alive()) return;
      showError(error, err, { form, session, aliases: { walletCurrency: 'walletCurrency' } });
      if (err.reason === 'INSUFFICIENT_FUNDS' && !methodCard.checked) {
        error.append(' ', h('a', { href: '#/wallet' }, 'Top up your wallet'));
      }
      error.scrollIntoView({ block: 'nearest' });
    }
  });

  replace(body, form,
    h('aside', { class: 'panel', 'aria-labelledby': 'order-summary' },
      h('h2', { id: 'order-summary' }, 'Order summary'),
      h('ul', { class: 'summary-lines' }, cart.items.map((i) => h('li', { class: 'summary-line', testid: 'checkout-line' },
        h('span', null, `${i.qty} × ${i.name}`), h('span', { class: 'muted' }, formatMoney(i.lineTotalMinor, i.currency))))),
      totalsList(cart.totals),
      h('a', { href: '#/cart' }, 'Edit cart')));
}
