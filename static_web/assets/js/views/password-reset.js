// Forgot password by mail: #/forgot-password asks for the email (the answer is the same
// whether it has an account); the mail links to #/reset-password?token=..., where the new
// password is chosen. The token stays in the URL fragment: it never reaches a server log.

import { requestPasswordReset, resetPassword } from '../api.js';
import { alertRegion, busy, clearAlert, clearFieldErrors, field, h, replace, showError, showOk } from '../dom.js';
import { markSignedOut, session, signInUrl } from '../session.js';

const MIN_PASSWORD = 8;

export const forgot = {
  async render(main, ctx) {
    ctx.setTitle('Forgot your password?');
    const result = alertRegion('forgot-result');
    const send = h('button', { type: 'submit', class: 'btn', testid: 'send-reset' }, 'Send the reset link');
    const form = h('form', { novalidate: true, testid: 'forgot-form' },
      field({ label: 'Email', name: 'email', type: 'email', testid: 'forgot-email', value: ctx.query.get('email') || '',
        attrs: { autocomplete: 'email', maxlength: 254, required: true } }),
      send);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(result);
      clearFieldErrors(form);
      const email = form.elements.email.value.trim();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        showError(result, { code: 'INVALID_ARGUMENT', message: 'Enter your email address.',
          fieldErrors: [{ field: 'email', message: 'Enter your email address.' }] }, { form });
        return;
      }
      try {
        const r = await busy(send, () => requestPasswordReset(email));
        if (!ctx.alive()) return;
        const minutes = Math.round((r.expiresIn || 1800) / 60);
        showOk(result, `If ${email} has an account here, a link to choose a new password is on its way. `
          + `It works once, for ${minutes} minutes. Check your spam folder if it does not arrive.`);
      } catch (err) {
        if (ctx.alive()) showError(result, err, { form, session });
      }
    });
    replace(main, h('div', { class: 'panel narrow-panel', testid: 'forgot-password' },
      h('h1', { tabindex: '-1' }, 'Forgot your password?'),
      h('p', null, 'Enter the email of your account and we will mail you a link to choose a new password.'),
      result, form,
      h('p', { class: 'muted' }, 'Remembered it? ', h('a', { href: signInUrl('/#/account') }, 'Sign in'))));
  },
};

export const reset = {
  async render(main, ctx) {
    ctx.setTitle('Choose a new password');
    const token = ctx.query.get('token') || '';
    const result = alertRegion('reset-result');
    if (!token) {
      replace(main, h('div', { class: 'panel narrow-panel', testid: 'reset-password' },
        h('h1', { tabindex: '-1' }, 'Choose a new password'),
        h('p', null, 'This page opens from the link in the password reset mail. ',
          h('a', { href: '#/forgot-password' }, 'Ask for a new link'), '.')));
      return;
    }
    const save = h('button', { type: 'submit', class: 'btn', testid: 'save-new-password' }, 'Set the new password');
    const form = h('form', { novalidate: true, testid: 'reset-form' },
      field({ label: 'New password', name: 'password', type: 'password', testid: 'reset-password-input',
        hint: `At least ${MIN_PASSWORD} characters.`, attrs: { autocomplete: 'new-password', minlength: MIN_PASSWORD, maxlength: 1024, required: true } }),
      field({ label: 'New password again', name: 'again', type: 'password', testid: 'reset-password-again',
        attrs: { autocomplete: 'new-password', maxlength: 1024, required: true } }),
      save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(result);
      clearFieldErrors(form);
      const password = form.elements.password.value;
      const problems = [];
      if (password.length < MIN_PASSWORD) problems.push({ field: 'password', message: `Use at least ${MIN_PASSWORD} characters.` });
      else if (password !== form.elements.again.value) problems.push({ field: 'again', message: 'The two passwords differ.' });
      if (problems.length) {
        showError(result, { code: 'INVALID_ARGUMENT', message: problems[0].message, fieldErrors: problems }, { form });
        return;
      }
      try {
        await busy(save, () => resetPassword(token, password));
        if (!ctx.alive()) return;
        markSignedOut(); // every session of the account was signed out, this browser's too
        form.remove();
        showOk(result, h('span', null, 'Your password is changed and every session was signed out. ',
          h('a', { href: signInUrl('/#/account'), testid: 'reset-sign-in' }, 'Sign in with the new password'), '.'));
      } catch (err) {
        if (!ctx.alive()) return;
        if (err.reason === 'RESET_TOKEN_INVALID') {
          showError(result, { code: 'FAILED_PRECONDITION', message: 'This link is used or expired. Ask for a new one below.' });
          result.append(' ', h('a', { href: '#/forgot-password', testid: 'reset-ask-again' }, 'Ask for a new link'));
        } else showError(result, err, { form, session });
      }
    });
    replace(main, h('div', { class: 'panel narrow-panel', testid: 'reset-password' },
      h('h1', { tabindex: '-1' }, 'Choose a new password'), result, form));
  },
};
