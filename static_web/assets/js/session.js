// Browser session (BFF): the server keeps the tokens; the page only knows
// whether someone is signed in, who, and the CSRF token to send on writes.

const listeners = new Set();

export const session = {
  loaded: false,
  authenticated: false,
  user: null,
  csrfToken: null,
  // Set when the page believed someone was signed in: a later 401 then means
  // "session expired" rather than "please sign in".
  wasSignedIn: false,
};

export function isAdmin() {
  return Boolean(session.user && Array.isArray(session.user.roles) && session.user.roles.includes('admin'));
}

export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  for (const fn of listeners) fn(session);
}

export async function loadSession() {
  try {
    const res = await fetch('/auth/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const data = res.ok ? await res.json() : {};
    session.authenticated = Boolean(data.authenticated);
    session.user = data.authenticated ? data.user || null : null;
    session.csrfToken = data.csrfToken || null;
  } catch {
    session.authenticated = false;
    session.user = null;
  }
  if (session.authenticated) session.wasSignedIn = true;
  session.loaded = true;
  notify();
  return session;
}

/** The session ran out under us (401 from the API): show the signed-out header. */
export function markSignedOut() {
  if (!session.authenticated) return;
  session.authenticated = false;
  session.user = null;
  notify();
}

function currentTarget() {
  // Come back to the same view after the OAuth round trip.
  return `/${location.hash || '#/'}`;
}

export function signInUrl(next = currentTarget()) {
  return `/auth/login?next=${encodeURIComponent(next)}`;
}

export function signUpUrl(next = currentTarget()) {
  return `/auth/login?signup=1&next=${encodeURIComponent(next)}`;
}

/** POST /auth/logout with the CSRF header, then reload signed out. */
export async function signOut() {
  const res = await fetch('/auth/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': session.csrfToken || '', Accept: 'application/json' },
  });
  if (!res.ok && res.status !== 302 && res.status !== 303 && !res.redirected) {
    throw Object.assign(new Error('Sign-out failed. Please try again.'), { code: 'UNKNOWN' });
  }
  session.authenticated = false;
  session.user = null;
  session.wasSignedIn = false;
  location.hash = '#/';
  location.reload();
}

// ---- guests: an anonymous visitor's cart lives under the HttpOnly shop_guest cookie
// (POST /api/guest-session). The page cannot read that cookie, so it remembers that it
// asked for one; signing in merges the guest cart into the account's (server side).
const GUEST_KEY = 'shop.guest';

export function isGuest() {
  try {
    return !session.authenticated && localStorage.getItem(GUEST_KEY) === '1';
  } catch {
    return false;
  }
}

/** Starts (or keeps) the guest session; resolves once the cookie is set. */
export async function startGuest() {
  const res = await fetch('/api/guest-session', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': session.csrfToken || '' },
    body: '{}',
  });
  if (!res.ok) throw Object.assign(new Error('Could not start a guest cart.'), { code: 'UNAVAILABLE' });
  try { localStorage.setItem(GUEST_KEY, '1'); } catch { /* private mode: the cookie still works */ }
}

/** After sign-in the guest cart was merged: forget the flag. */
export function forgetGuest() {
  try { localStorage.removeItem(GUEST_KEY); } catch { /* nothing to forget */ }
}
