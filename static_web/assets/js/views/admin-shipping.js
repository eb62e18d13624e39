// Admin: shipping and tax settings (#/admin/shipping). Zones (sets of countries) with
// their methods and a price per currency, and a tax rate per country (percent, exact
// decimal; included in prices or added on top). Everything through plugins/shipping's
// admin GraphQL; checkout prices with these at once.

import {
  createShippingMethod, createShippingZone, deleteShippingMethod, deleteShippingZone, deleteTaxRate,
  getShippingSettings, setTaxRate, updateShippingZone,
} from '../api.js';
import { alertRegion, busy, clearAlert, clearFieldErrors, field, h, replace, showError, showOk, skeletonLines } from '../dom.js';
import { formatMoney, parseMajor } from '../money.js';
import { session } from '../session.js';
import { adminHead } from './admin-nav.js';

/** "de, FR  at" -> {countries: ['DE', 'FR', 'AT']} or {problem}. */
export function parseCountries(text) {
  const parts = String(text || '').split(/[\s,;]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);
  const bad = parts.find((c) => !/^[A-Z]{2}$/.test(c));
  if (bad) return { problem: `"${bad}" is not a two-letter country code.` };
  return { countries: [...new Set(parts)] };
}

/** "EUR 4.90, USD 5" -> {prices: [{currency, priceMinor}]} or {problem}. */
export function parsePrices(text) {
  const prices = [];
  for (const part of String(text || '').split(/[,;\n]+/).map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{3})\s*(.+)$/.exec(part);
    if (!m) return { problem: `Write each price as a currency code and an amount, e.g. "EUR 4.90" (not "${part}").` };
    const currency = m[1].toUpperCase();
    const amount = parseMajor(m[2], currency, { allowZero: true });
    if (!amount.ok) return { problem: `${currency}: ${amount.message}` };
    if (prices.some((p) => p.currency === currency)) return { problem: `${currency} is given twice.` };
    prices.push({ currency, priceMinor: amount.minor });
  }
  if (!prices.length) return { problem: 'Give at least one price, e.g. "EUR 4.90".' };
  return { prices };
}

function invalid(region, form, name, message) {
  showError(region, { code: 'INVALID_ARGUMENT', message, fieldErrors: [{ field: name, message }] }, { form });
}

export async function render(main, ctx) {
  ctx.setTitle('Shipping and tax');
  const status = alertRegion('shipping-status');
  const zones = h('section', { class: 'panel', 'aria-labelledby': 'zones-h', testid: 'shipping-zones' },
    h('h2', { id: 'zones-h' }, 'Shipping zones'), skeletonLines(4));
  const rates = h('section', { class: 'panel', 'aria-labelledby': 'rates-h', testid: 'tax-rates' },
    h('h2', { id: 'rates-h' }, 'Tax rates'), skeletonLines(3));
  replace(main, ...adminHead('Shipping and tax', 'shipping'), status, h('div', { class: 'settings-grid' }, zones, rates));

  const redraw = async (message) => {
    let data;
    try {
      data = await getShippingSettings();
    } catch (err) {
      if (ctx.alive()) showError(status, err, { session });
      return;
    }
    if (!ctx.alive()) return;
    drawZones(zones, data.zones, status, redraw);
    drawRates(rates, data.rates, status, redraw);
    if (message) showOk(status, message);
  };
  await redraw();
}

/** Runs `fn` on `button`, then redraws with `done` (or shows the error, with the form's fields marked). */
async function act(button, fn, status, redraw, done, form) {
  clearAlert(status);
  if (form) clearFieldErrors(form);
  try {
    await busy(button, fn);
    await redraw(done);
  } catch (err) {
    showError(status, err, { form, session });
  }
}

function drawZones(section, zones, status, redraw) {
  const cards = zones.map((z) => {
    const methods = z.methods.length
      ? h('ul', { class: 'summary-lines', testid: 'zone-methods' }, z.methods.map((m) => {
        const del = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'delete-method',
          'aria-label': `Delete the method ${m.name} of ${z.name}` }, 'Delete');
        del.addEventListener('click', () => act(del, () => deleteShippingMethod(z.id, m.id), status, redraw,
          `Deleted the method ${m.name}.`));
        return h('li', { class: 'summary-line', testid: 'shipping-method-row' },
          h('span', null, h('strong', null, m.name), ' ',
            h('span', { class: 'muted' }, m.prices.map((p) => (p.priceMinor ? formatMoney(p.priceMinor, p.currency) : `free (${p.currency})`)).join(' · '))),
          del);
      }))
      : h('p', { class: 'muted' }, 'No methods yet: nothing ships to these countries.');

    const addBtn = h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'add-method' }, 'Add method');
    const add = h('form', { novalidate: true, class: 'form-grid cols-2', testid: 'method-form' },
      field({ label: 'Method name', name: 'name', testid: 'method-name', attrs: { maxlength: 100, required: true } }),
      field({ label: 'Prices', name: 'prices', testid: 'method-prices', hint: 'One per currency, e.g. EUR 4.90, USD 5.50 (0 is free)',
        attrs: { maxlength: 400, required: true } }),
      h('div', { class: 'span-all' }, addBtn));
    add.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = add.elements.name.value.trim();
      if (!name) return invalid(status, add, 'name', 'Name the method, e.g. Standard.');
      const p = parsePrices(add.elements.prices.value);
      if (p.problem) return invalid(status, add, 'prices', p.problem);
      return act(addBtn, () => createShippingMethod(z.id, name, p.prices), status, redraw, `Added ${name} to ${z.name}.`, add);
    });

    const saveBtn = h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'save-zone' }, 'Save zone');
    const edit = h('form', { novalidate: true, class: 'form-grid cols-2', testid: 'zone-edit-form' },
      field({ label: 'Zone name', name: 'name', value: z.name, testid: 'zone-edit-name', attrs: { maxlength: 100, required: true } }),
      field({ label: 'Countries', name: 'countries', value: z.countries.join(', '), testid: 'zone-edit-countries',
        hint: 'Two-letter codes, e.g. DE, AT', attrs: { maxlength: 800 } }),
      h('div', { class: 'span-all' }, saveBtn));
    edit.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = edit.elements.name.value.trim();
      if (!name) return invalid(status, edit, 'name', 'Name the zone.');
      const c = parseCountries(edit.elements.countries.value);
      if (c.problem) return invalid(status, edit, 'countries', c.problem);
      return act(saveBtn, () => updateShippingZone(z.id, name, c.countries), status, redraw, `Saved the zone ${name}.`, edit);
    });
    const delZone = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'delete-zone',
      'aria-label': `Delete zone ${z.name} and its methods` }, 'Delete zone');
    delZone.addEventListener('click', () => {
      if (!window.confirm(`Delete the zone ${z.name} and its ${z.methods.length} method(s)?`)) return;
      act(delZone, () => deleteShippingZone(z.id), status, redraw, `Deleted the zone ${z.name}.`);
    });
    return h('article', { class: 'zone-card panel', testid: 'shipping-zone', dataset: { id: z.id } },
      h('div', { class: 'page-head' }, h('h3', null, z.name), delZone),
      h('p', { class: 'muted', testid: 'zone-countries' }, z.countries.length ? `Ships to ${z.countries.join(', ')}` : 'No countries yet'),
      methods,
      h('details', null, h('summary', null, `Add a method to ${z.name}`), add),
      h('details', null, h('summary', null, `Rename ${z.name} or change its countries`), edit));
  });

  const newBtn = h('button', { type: 'submit', class: 'btn', testid: 'create-zone' }, 'Create zone');
  const create = h('form', { novalidate: true, class: 'form-grid cols-2', testid: 'zone-form' },
    field({ label: 'Zone name', name: 'name', testid: 'zone-name', attrs: { maxlength: 100, required: true } }),
    field({ label: 'Countries', name: 'countries', testid: 'zone-countries-input', hint: 'Two-letter codes, e.g. DE, AT, CH',
      attrs: { maxlength: 800 } }),
    h('div', { class: 'span-all' }, newBtn));
  create.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = create.elements.name.value.trim();
    if (!name) return invalid(status, create, 'name', 'Name the zone, e.g. Europe.');
    const c = parseCountries(create.elements.countries.value);
    if (c.problem) return invalid(status, create, 'countries', c.problem);
    return act(newBtn, () => createShippingZone(name, c.countries), status, redraw, `Created the zone ${name}.`, create);
  });
  replace(section, h('h2', { id: 'zones-h' }, 'Shipping zones'),
    h('p', { class: 'muted' }, 'A zone is a set of countries; its methods are what checkout offers there, priced per currency.'),
    cards.length ? cards : h('p', { class: 'notice', testid: 'no-zones' }, 'No zones yet: checkout cannot offer shipping anywhere.'),
    h('details', { open: !cards.length }, h('summary', null, 'Create a zone'), create));
}

function drawRates(section, rates, status, redraw) {
  const rows = rates.map((r) => {
    const del = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'delete-rate',
      'aria-label': `Remove the tax rate of ${r.country}` }, 'Remove');
    del.addEventListener('click', () => act(del, () => deleteTaxRate(r.country), status, redraw, `Removed the tax rate of ${r.country}.`));
    return h('tr', { testid: 'tax-rate-row', dataset: { country: r.country } },
      h('th', { scope: 'row' }, r.country), h('td', { class: 'num' }, `${r.rate}%`),
      h('td', null, r.inclusive ? 'Included in prices' : 'Added at checkout'), h('td', null, del));
  });
  const saveBtn = h('button', { type: 'submit', class: 'btn', testid: 'save-rate' }, 'Save rate');
  const form = h('form', { novalidate: true, class: 'form-grid cols-2', testid: 'tax-form' },
    field({ label: 'Country', name: 'country', testid: 'rate-country', hint: 'Two letters, e.g. DE', attrs: { maxlength: 2, required: true } }),
    field({ label: 'Rate (percent)', name: 'rate', testid: 'rate-value', hint: 'Exact, up to 4 decimals: 19, 7.25',
      attrs: { maxlength: 12, inputmode: 'decimal', required: true } }),
    h('label', { class: 'choice span-all' }, h('input', { type: 'checkbox', name: 'inclusive', testid: 'rate-inclusive' }),
      'Prices in this country already include the tax'),
    h('div', { class: 'span-all' }, saveBtn));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const country = form.elements.country.value.trim().toUpperCase();
    const rate = form.elements.rate.value.trim().replace(',', '.');
    if (!/^[A-Z]{2}$/.test(country)) return invalid(status, form, 'country', 'Enter the two-letter country code.');
    if (!/^\d{1,3}(\.\d{1,4})?$/.test(rate) || Number(rate) > 100) return invalid(status, form, 'rate', 'Enter a percentage from 0 to 100, e.g. 19 or 7.25.');
    return act(saveBtn, () => setTaxRate(country, rate, form.elements.inclusive.checked), status, redraw,
      `Saved the tax rate of ${country}: ${rate}%.`, form);
  });
  replace(section, h('h2', { id: 'rates-h' }, 'Tax rates'),
    rows.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'admin-list', testid: 'tax-rate-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Country'), h('th', { scope: 'col' }, 'Rate'),
          h('th', { scope: 'col' }, 'How'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        h('tbody', null, rows)))
      : h('p', { class: 'muted', testid: 'no-rates' }, 'No tax rates: checkout adds no tax.'),
    h('h3', null, 'Set a country\'s rate'), form);
}
