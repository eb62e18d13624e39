// Account: the address book (list, add, edit, delete). Checkout offers these addresses.

import { createAddress, deleteAddress, getMyAddresses, updateAddress } from '../api.js';
import { alertRegion, busy, clearAlert, clearFieldErrors, h, replace, showError, showOk, skeletonLines } from '../dom.js';
import { session } from '../session.js';
import { addressFields, readAddress } from './checkout.js';

const HEADING = () => h('h2', { id: 'addresses-h' }, 'Addresses');

export async function drawAddresses(section, ctx) {
  replace(section, HEADING(), skeletonLines(2));
  const status = alertRegion('addresses-status');
  let list;
  try {
    list = await getMyAddresses();
  } catch (err) {
    if (!ctx.alive()) return;
    replace(section, HEADING(), status);
    showError(status, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  const items = list.map((a) => {
    const del = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'delete-address',
      'aria-label': `Delete the address of ${a.name}, ${a.city}` }, 'Delete');
    del.addEventListener('click', async () => {
      clearAlert(status);
      try {
        await busy(del, () => deleteAddress(a.id));
        if (!ctx.alive()) return;
        await drawAddresses(section, ctx);
        const note = section.querySelector('[data-testid="addresses-status"]');
        if (note) showOk(note, `Deleted the address of ${a.name}.`);
      } catch (err) {
        if (ctx.alive()) showError(status, err, { session });
      }
    });
    const edit = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'edit-address',
      'aria-expanded': 'false', 'aria-label': `Edit the address of ${a.name}, ${a.city}` }, 'Edit');
    const row = h('li', { class: 'address-row', testid: 'saved-address', dataset: { id: a.id } },
      h('address', { class: 'address' },
        [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(' '), a.region, a.country, a.phone]
          .filter(Boolean).map((t) => h('div', null, t))),
      h('div', { class: 'row' }, edit, del));
    edit.addEventListener('click', () => {
      const open = row.querySelector('[data-testid="edit-address-form"]');
      if (open) {
        open.remove();
        edit.setAttribute('aria-expanded', 'false');
        return;
      }
      edit.setAttribute('aria-expanded', 'true');
      const f = editForm(a, section, ctx, status, () => { edit.setAttribute('aria-expanded', 'false'); edit.focus(); });
      row.append(f);
      f.elements.name.focus();
    });
    return row;
  });
  const add = h('button', { type: 'submit', class: 'btn', testid: 'add-address' }, 'Save address');
  const form = h('form', { novalidate: true, testid: 'address-form' },
    h('fieldset', null, h('legend', null, 'Add an address'), addressFields('acct')), add);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(status);
    clearFieldErrors(form);
    const got = readAddress(form);
    if (got.problems) {
      showError(status, { code: 'INVALID_ARGUMENT', message: 'Some details are missing', fieldErrors: got.problems }, { form });
      return;
    }
    try {
      await busy(add, () => createAddress(got.address));
      if (!ctx.alive()) return;
      await drawAddresses(section, ctx);
      const note = section.querySelector('[data-testid="addresses-status"]');
      if (note) showOk(note, `Saved the address of ${got.address.name}.`);
    } catch (err) {
      if (ctx.alive()) showError(status, err, { form, session });
    }
  });
  replace(section, HEADING(), status,
    items.length ? h('ul', { class: 'address-list', testid: 'address-list' }, items)
      : h('p', { class: 'muted', testid: 'no-addresses' }, 'No saved addresses yet. Checkout offers the ones you save here.'),
    h('details', { class: 'add-address', open: !items.length }, h('summary', null, 'Add an address'), form));
}

/** The inline form that changes one saved address (prefilled; Cancel closes it). */
function editForm(a, section, ctx, status, closed) {
  const save = h('button', { type: 'submit', class: 'btn', testid: 'save-edited-address' }, 'Save changes');
  const cancel = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Cancel');
  const form = h('form', { novalidate: true, class: 'edit-address', testid: 'edit-address-form' },
    h('fieldset', null, h('legend', null, `Edit the address of ${a.name}`), addressFields(`edit-${a.id.slice(0, 8)}`)),
    h('div', { class: 'row' }, save, cancel));
  for (const k of ['name', 'line1', 'line2', 'city', 'postalCode', 'region', 'country', 'phone']) {
    if (form.elements[k]) form.elements[k].value = a[k] || '';
  }
  cancel.addEventListener('click', () => { form.remove(); closed(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(status);
    clearFieldErrors(form);
    const got = readAddress(form);
    if (got.problems) {
      showError(status, { code: 'INVALID_ARGUMENT', message: 'Some details are missing', fieldErrors: got.problems }, { form });
      return;
    }
    try {
      await busy(save, () => updateAddress(a.id, got.address));
      if (!ctx.alive()) return;
      await drawAddresses(section, ctx);
      const note = section.querySelector('[data-testid="addresses-status"]');
      if (note) showOk(note, `Saved the changes to the address of ${got.address.name}.`);
    } catch (err) {
      if (ctx.alive()) showError(status, err, { form, session });
    }
  });
  return form;
}
