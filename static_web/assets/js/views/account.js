// Account (#/account): your name, your password, and the applications you let
// use your account. Changing the password signs every session out (this one too).

import { changePassword, getMe, getMyGrants, revokeGrant, updateMe } from '../api.js';
import {
  alertRegion, busy, clearAlert, clearFieldErrors, field, formatDate, h, replace, showError, showOk, skeletonLines,
} from '../dom.js';
import { mountSlot, pluginOn } from '../plugins-ui.js';
import { drawAddresses } from './account-addresses.js';
import { markSignedOut, session, signInUrl } from '../session.js';

const MIN_PASSWORD = 8;

export async function render(main, ctx) {
  ctx.setTitle('Your account');
  const error = alertRegion('account-error');
  const profile = h('section', { class: 'panel', 'aria-labelledby': 'profile-h', testid: 'profile' },
    h('h2', { id: 'profile-h' }, 'Profile'), skeletonLines(3));
  const password = h('section', { class: 'panel', 'aria-labelledby': 'password-h', testid: 'password' });
  const apps = h('section', { class: 'panel', 'aria-labelledby': 'apps-h', testid: 'connected-apps' });
  const addresses = h('section', { class: 'panel', 'aria-labelledby': 'addresses-h', testid: 'addresses' });
  const slot = h('div', { class: 'product-slot', testid: 'slot-account' });
  replace(main, h('h1', null, 'Your account'), error,
    h('div', { class: 'two-col' }, h('div', null, profile, password), h('div', null, addresses, apps)), slot);

  let me;
  try {
    me = await getMe();
  } catch (err) {
    if (!ctx.alive()) return;
    replace(profile, h('h2', { id: 'profile-h' }, 'Profile'));
    showError(error, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  drawProfile(profile, me, ctx);
  drawPassword(password, ctx);
  drawApps(apps, ctx);
  if (pluginOn('shipping')) drawAddresses(addresses, ctx);
  else addresses.remove();
  mountSlot('account.sections', slot, { user: me });
}

function drawProfile(section, me, ctx) {
  const result = alertRegion('profile-result');
  const save = h('button', { type: 'submit', class: 'btn', testid: 'save-profile' }, 'Save');
  const form = h('form', { testid: 'profile-form', novalidate: true },
    field({ label: 'Name', name: 'name', value: me.name, testid: 'profile-name', hint: 'How the shop greets you.',
      attrs: { maxlength: 200, autocomplete: 'name' } }),
    save, result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(result);
    clearFieldErrors(form);
    try {
      const saved = await busy(save, () => updateMe(form.elements.name.value.trim()));
      if (!ctx.alive()) return;
      form.elements.name.value = saved.name;
      // The header shows the name: update it without a reload.
      if (session.user) session.user.name = saved.name;
      const shown = document.querySelector('[data-testid="user-name"]');
      if (shown) shown.textContent = saved.name || saved.email;
      showOk(result, 'Saved.');
    } catch (err) {
      if (ctx.alive()) showError(result, err, { form, session });
    }
  });
  replace(section, h('h2', { id: 'profile-h' }, 'Profile'),
    h('dl', { class: 'kv' },
      h('dt', null, 'Email'), h('dd', { testid: 'profile-email' }, me.email),
      h('dt', null, 'Member since'), h('dd', null, formatDate(me.createdAt))),
    form);
}

function drawPassword(section, ctx) {
  const result = alertRegion('password-result');
  const save = h('button', { type: 'submit', class: 'btn', testid: 'change-password' }, 'Change password');
  const form = h('form', { testid: 'password-form', novalidate: true },
    field({ label: 'Current password', name: 'currentPassword', type: 'password', testid: 'current-password',
      attrs: { autocomplete: 'current-password', required: true, maxlength: 1024 } }),
    field({ label: 'New password', name: 'newPassword', type: 'password', testid: 'new-password',
      hint: `At least ${MIN_PASSWORD} characters.`, attrs: { autocomplete: 'new-password', required: true, maxlength: 1024, minlength: MIN_PASSWORD } }),
    field({ label: 'New password again', name: 'confirmPassword', type: 'password', testid: 'confirm-password',
      attrs: { autocomplete: 'new-password', required: true, maxlength: 1024 } }),
    h('p', { class: 'muted' }, 'This signs you out everywhere, here too: sign in again with the new password.'),
    save, result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearAlert(result);
    clearFieldErrors(form);
    const v = (n) => form.elements[n].value;
    const problems = [];
    if (!v('currentPassword')) problems.push({ field: 'currentPassword', message: 'Enter your current password.' });
    if (v('newPassword').length < MIN_PASSWORD) problems.push({ field: 'newPassword', message: `Use at least ${MIN_PASSWORD} characters.` });
    else if (v('confirmPassword') !== v('newPassword')) problems.push({ field: 'confirmPassword', message: 'The two new passwords differ.' });
    if (problems.length) {
      showError(result, { code: 'INVALID_ARGUMENT', message: 'check the highlighted fields', fieldErrors: problems }, { form });
      return;
    }
    try {
      await busy(save, () => changePassword(v('currentPassword'), v('newPassword')));
    } catch (err) {
      if (ctx.alive()) showError(result, err, { form, session });
      return;
    }
    form.reset();
    // The server revoked every token: this page is signed out now.
    session.wasSignedIn = false;
    markSignedOut();
    if (!ctx.alive()) return;
    const done = h('div', { class: 'panel narrow-panel', testid: 'password-changed' },
      h('h1', { tabindex: '-1' }, 'Password changed'),
      h('p', null, 'You have been signed out on every device. Sign in with your new password.'),
      h('a', { class: 'btn', href: signInUrl('/#/account'), testid: 'sign-in-after-password' }, 'Sign in'));
    replace(document.getElementById('main'), done);
    done.querySelector('h1').focus();
  });
  replace(section, h('h2', { id: 'password-h' }, 'Password'), form);
}

async function drawApps(section, ctx) {
  replace(section, h('h2', { id: 'apps-h' }, 'Connected applications'), skeletonLines(2));
  let grants;
  try {
    grants = await getMyGrants();
  } catch (err) {
    if (!ctx.alive()) return;
    const region = alertRegion('apps-error');
    replace(section, h('h2', { id: 'apps-h' }, 'Connected applications'), region);
    showError(region, err, { session });
    return;
  }
  if (!ctx.alive()) return;
  if (!grants.length) {
    replace(section, h('h2', { id: 'apps-h' }, 'Connected applications'),
      h('p', { class: 'muted', testid: 'no-apps' }, 'No other application can use your account.'));
    return;
  }
  replace(section, h('h2', { id: 'apps-h' }, 'Connected applications'),
    h('ul', { class: 'summary-lines' }, grants.map((g) => {
      const result = alertRegion('revoke-result');
      const revoke = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'revoke-app',
        'aria-label': `Remove access for ${g.clientName}` }, 'Remove access');
      revoke.addEventListener('click', async () => {
        clearAlert(result);
        try {
          await busy(revoke, () => revokeGrant(g.clientId));
          if (ctx.alive()) drawApps(section, ctx);
        } catch (err) {
          if (ctx.alive()) showError(result, err, { session });
        }
      });
      return h('li', { testid: 'app-grant' },
        h('div', null, h('strong', null, g.clientName),
          h('ul', null, g.scopes.map((s) => h('li', null, s.description))),
          h('div', { class: 'muted' }, `Allowed ${formatDate(g.createdAt)}`), result),
        revoke);
    })));
}
