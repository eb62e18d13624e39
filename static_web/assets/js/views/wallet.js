// Wallet: balances, top-up, transfer to another shopper by email, ledger history.
// Amounts are typed in major units ("12.50") and converted with string
// arithmetic (money.js), never through floats.

import { getWalletCurrencies, getWalletTransactions, getWallets, newIdempotencyKey, topUpWallet, transferMoney } from '../api.js';
import { alertRegion, busy, clearAlert, clearFieldErrors, field, formatDate, h, replace, showError, showOk, skeletonLines } from '../dom.js';
import { COMMON_CURRENCIES, formatMoney, parseMajor } from '../money.js';
import { demoMode } from '../plugins-ui.js';
import { session } from '../session.js';

const TX_PAGE_SIZE = 10;
const KIND_LABELS = { topup: 'Top-up', transfer_in: 'Received', transfer_out: 'Sent', payment: 'Payment', refund: 'Refund' };

export async function render(main, ctx) {
  ctx.setTitle('Wallet');
  const error = alertRegion('wallet-error');
  const balances = h('ul', { class: 'balances', testid: 'wallet-balances', 'aria-busy': 'true' },
    Array.from({ length: 3 }, () => h('li', { class: 'skeleton skeleton-tile', 'aria-hidden': 'true' })));
  const topupBox = h('section', { class: 'panel', 'aria-labelledby': 'topup-title' }, h('h2', { id: 'topup-title' }, 'Top up'));
  const transferBox = h('section', { class: 'panel', 'aria-labelledby': 'transfer-title' }, h('h2', { id: 'transfer-title' }, 'Send money'));
  const historyBox = h('section', { class: 'section', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'Transactions'));
  replace(main, h('h1', null, 'Your wallet'), error, balances,
    h('div', { class: 'form-grid cols-2 section' }, topupBox, transferBox), historyBox);

  let wallets = [];
  let historyCurrency = null;
  let accepted = COMMON_CURRENCIES;
  // The shop's accepted currencies; the common list is only a fallback.
  const acceptedLoad = getWalletCurrencies().then((cs) => { if (cs.length) accepted = cs.map((c) => c.code); }).catch(() => {});

  const currencyOptions = () => {
    const held = wallets.map((w) => w.currency);
    return [...new Set([...held, ...accepted])].map((c) => ({ value: c, label: c }));
  };

  async function loadBalances() {
    try {
      wallets = await getWallets();
    } catch (err) {
      if (!ctx.alive()) return false;
      replace(balances);
      showError(error, err, { session });
      return false;
    }
    if (!ctx.alive()) return false;
    balances.removeAttribute('aria-busy');
    if (!wallets.length) {
      replace(balances, h('li', { class: 'notice', testid: 'no-wallets' }, 'No money yet: top up to create a wallet.'));
    } else {
      replace(balances, wallets.map((w) => h('li', { class: 'balance', testid: 'wallet-balance', dataset: { currency: w.currency, balanceMinor: String(w.balanceMinor) } },
        h('div', { class: 'cur' }, w.currency),
        h('div', { class: 'amt' }, formatMoney(w.balanceMinor, w.currency)))));
    }
    return true;
  }

  const [ok] = await Promise.all([loadBalances(), acceptedLoad]);
  if (!ok) return;
  drawTopUp();
  drawTransfer();
  historyCurrency = wallets.length ? wallets[0].currency : null;
  drawHistory(1);

  function amountField(testid) {
    return field({ label: 'Amount', name: 'amount', value: '', testid, hint: 'For example 12.50',
      attrs: { inputmode: 'decimal', autocomplete: 'off', required: true, maxlength: 20 } });
  }

  function drawTopUp() {
    if (!demoMode()) {
      // Free top-ups are a demo convenience; outside demo mode the server refuses them.
      replace(topupBox, h('h2', { id: 'topup-title' }, 'Top up'),
        h('p', { class: 'notice', testid: 'topup-unavailable' }, 'Top-ups are not available in this shop.'));
      return;
    }
    let key = newIdempotencyKey();
    const result = alertRegion('topup-error');
    const submit = h('button', { type: 'submit', class: 'btn', testid: 'topup-submit' }, 'Top up');
    const form = h('form', { testid: 'topup-form', novalidate: true },
      h('div', { class: 'form-grid cols-2' },
        field({ label: 'Currency', name: 'currency', type: 'select', value: wallets[0] ? wallets[0].currency : 'EUR', options: currencyOptions(), testid: 'topup-currency' }),
        amountField('topup-amount')),
      h('p', { class: 'muted', testid: 'demo-topup-hint' }, 'Demo shop: top-ups are free, no card is charged.'),
      submit, result);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(result);
      clearFieldErrors(form);
      const currency = form.elements.currency.value;
      const parsed = parseMajor(form.elements.amount.value, currency);
      if (!parsed.ok) {
        showError(result, { code: 'INVALID_ARGUMENT', message: 'check the amount', fieldErrors: [{ field: 'amount', message: parsed.message }] }, { form });
        return;
      }
      try {
        const wallet = await busy(submit, () => topUpWallet(currency, parsed.minor, key));
        key = newIdempotencyKey();
        if (!ctx.alive()) return;
        form.elements.amount.value = '';
        await loadBalances();
        showOk(result, `Added ${formatMoney(parsed.minor, currency)}. New balance: ${formatMoney(wallet.balanceMinor, wallet.currency)}.`);
        historyCurrency = currency;
        drawHistory(1);
      } catch (err) {
        if (err.code !== 'NETWORK') key = newIdempotencyKey();
        if (ctx.alive()) showError(result, err, { form, session, aliases: { amountMinor: 'amount' } });
      }
    });
    replace(topupBox, h('h2', { id: 'topup-title' }, 'Top up'), form);
  }

  function drawTransfer() {
    let key = newIdempotencyKey();
    const result = alertRegion('transfer-error');
    const submit = h('button', { type: 'submit', class: 'btn', testid: 'transfer-submit' }, 'Send');
    const form = h('form', { testid: 'transfer-form', novalidate: true },
      field({ label: 'Recipient email', name: 'toEmail', type: 'email', value: '', testid: 'transfer-email',
        attrs: { autocomplete: 'off', required: true, maxlength: 254 } }),
      h('div', { class: 'form-grid cols-2' },
        field({ label: 'Currency', name: 'currency', type: 'select', value: wallets[0] ? wallets[0].currency : 'EUR', options: currencyOptions(), testid: 'transfer-currency' }),
        amountField('transfer-amount')),
      field({ label: 'Message (optional)', name: 'memo', value: '', testid: 'transfer-memo', attrs: { maxlength: 200 } }),
      submit, result);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(result);
      clearFieldErrors(form);
      const toEmail = form.elements.toEmail.value.trim();
      const currency = form.elements.currency.value;
      const parsed = parseMajor(form.elements.amount.value, currency);
      const problems = [];
      if (!/^[^\s@]+@[^\s@]+$/.test(toEmail)) problems.push({ field: 'toEmail', message: 'Enter the email address of the person to pay.' });
      if (!parsed.ok) problems.push({ field: 'amount', message: parsed.message });
      if (problems.length) {
        showError(result, { code: 'INVALID_ARGUMENT', message: 'some details are missing', fieldErrors: problems }, { form });
        return;
      }
      const memo = form.elements.memo.value.trim();
      try {
        const t = await busy(submit, () => transferMoney({ toEmail, currency, amountMinor: parsed.minor, memo }, key));
        key = newIdempotencyKey();
        if (!ctx.alive()) return;
        form.reset();
        form.elements.currency.value = currency;
        await loadBalances();
        showOk(result, `Sent ${formatMoney(t.amountMinor, t.currency)} to ${t.toEmail}. Your balance: ${formatMoney(t.balanceMinor, t.currency)}.`);
        historyCurrency = currency;
        drawHistory(1);
      } catch (err) {
        if (err.code !== 'NETWORK') key = newIdempotencyKey();
        if (ctx.alive()) showError(result, err, { form, session, aliases: { amountMinor: 'amount', email: 'toEmail' } });
      }
    });
    replace(transferBox, h('h2', { id: 'transfer-title' }, 'Send money'), form);
  }

  async function drawHistory(page) {
    const title = h('h2', { id: 'history-title' }, 'Transactions');
    if (!historyCurrency) {
      replace(historyBox, title, h('p', { class: 'notice', testid: 'no-transactions' }, 'No transactions yet.'));
      return;
    }
    const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Currency' },
      wallets.map((w) => {
        const b = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-pressed': String(w.currency === historyCurrency), testid: 'history-currency' }, w.currency);
        b.addEventListener('click', () => { historyCurrency = w.currency; drawHistory(1); });
        return b;
      }));
    const listError = alertRegion('transactions-error');
    const table = h('div', { class: 'table-wrap', 'aria-busy': 'true', tabindex: '0', role: 'region', 'aria-label': 'Table (scrolls sideways)' }, skeletonLines(5));
    replace(historyBox, title, tabs, listError, table);
    let res;
    try {
      res = await getWalletTransactions(historyCurrency, page, TX_PAGE_SIZE);
    } catch (err) {
      if (!ctx.alive()) return;
      replace(table);
      showError(listError, err, { session });
      return;
    }
    if (!ctx.alive()) return;
    table.removeAttribute('aria-busy');
    if (!res.items.length) {
      replace(table, h('p', { class: 'notice', testid: 'no-transactions' }, `No ${historyCurrency} transactions yet.`));
      return;
    }
    replace(table, h('table', { testid: 'transactions-table' },
      h('caption', { class: 'visually-hidden' }, `${historyCurrency} transactions, newest first`),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Date'), h('th', { scope: 'col' }, 'Type'),
        h('th', { scope: 'col' }, 'Details'), h('th', { scope: 'col', class: 'num' }, 'Amount'))),
      h('tbody', null, res.items.map((t) => h('tr', { testid: 'transaction-row', dataset: { kind: t.kind } },
        h('td', null, formatDate(t.createdAt)),
        h('td', null, KIND_LABELS[t.kind] || t.kind),
        h('td', null, t.memo || ''),
        h('td', { class: `num ${t.amountMinor < 0 ? 'amount-neg' : 'amount-pos'}` },
          `${t.amountMinor > 0 ? '+' : ''}${formatMoney(t.amountMinor, t.currency)}`))))));
    const pages = Math.max(1, Math.ceil(res.total / res.pageSize));
    if (pages > 1) {
      const prev = h('button', { type: 'button', class: 'btn btn-secondary btn-small', disabled: page <= 1, testid: 'tx-prev' }, '← Newer');
      const next = h('button', { type: 'button', class: 'btn btn-secondary btn-small', disabled: page >= pages, testid: 'tx-next' }, 'Older →');
      prev.addEventListener('click', () => drawHistory(page - 1));
      next.addEventListener('click', () => drawHistory(page + 1));
      historyBox.append(h('nav', { class: 'pager', 'aria-label': 'Transaction pages' }, prev, h('span', { class: 'muted' }, `Page ${page} of ${pages}`), next));
    }
  }
}
