// Getting tokens the way a real client does: client_credentials for integrators, and the
// authorization-code flow with PKCE (S256) through the shop's own HTML sign-in form for shoppers.
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { check } from 'k6';
import { get, header, json, post, withQuery } from './http.js';

export const SHOPPER_SCOPES = 'openid profile email catalog:read cart:write orders:read orders:write wallet:read wallet:write addresses payments:write';
export const ADMIN_SCOPES = `${SHOPPER_SCOPES} admin`;

function must(ok, message) {
  if (!ok) throw new Error(message);
}

/** POST /oauth/token grant_type=client_credentials, authenticating with HTTP Basic (RFC 6749 §2.3.1). */
export function clientCredentials(clientId, clientSecret, scope = 'catalog:read') {
  const basic = encoding.b64encode(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`);
  const r = post('/oauth/token', null, {
    form: { grant_type: 'client_credentials', scope },
    headers: { Authorization: `Basic ${basic}` },
  });
  const body = json(r) || {};
  const ok = check(r, {
    'client_credentials: 200': (x) => x.status === 200,
    'client_credentials: bearer access_token': () => typeof body.access_token === 'string'
      && String(body.token_type).toLowerCase() === 'bearer',
    'client_credentials: no refresh_token': () => body.refresh_token === undefined,
  });
  must(ok, `client_credentials failed: ${r.status} ${r.body}`);
  return body.access_token;
}

function queryParam(url, name) {
  const m = new RegExp(`[?&]${name}=([^&#]*)`).exec(url || '');
  return m ? decodeURIComponent(m[1].replace(/\+/g, ' ')) : null;
}

/** The hidden inputs and action of the first form on an HTML page. */
function readForm(r) {
  const form = r.html().find('form').first();
  const fields = {};
  const hidden = form.find('input[type="hidden"]');
  for (let i = 0; i < hidden.size(); i++) {
    const el = hidden.eq(i);
    fields[el.attr('name')] = el.attr('value') || '';
  }
  return { action: form.attr('action') || '/oauth/authorize', fields };
}

/**
 * Sign a user in through GET /oauth/authorize -> HTML form -> POST credentials -> 303 to redirect_uri
 * with ?code -> POST /oauth/token with the PKCE verifier. Returns the token response.
 */
export function signIn({ clientId, redirectUri, email, password, scope = SHOPPER_SCOPES }) {
  const verifier = encoding.b64encode(crypto.randomBytes(32), 'rawurl');
  const challenge = crypto.sha256(verifier, 'base64rawurl');
  const state = encoding.b64encode(crypto.randomBytes(16), 'rawurl');
  const page = get(withQuery('/oauth/authorize', {
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state,
    code_challenge: challenge, code_challenge_method: 'S256',
  }), { headers: { Accept: 'text/html' }, redirects: 0 });
  must(check(page, {
    'authorize: sign-in page': (x) => x.status === 200 && String(header(x, 'Content-Type')).startsWith('text/html'),
  }), `GET /oauth/authorize failed: ${page.status} ${String(page.body).slice(0, 300)}`);

  const { action, fields } = readForm(page);
  must(check(fields, { 'authorize: form carries a csrf token': (f) => Object.keys(f).length > 0 }),
    'the sign-in form has no hidden inputs');
  let posted = post(action, null, {
    form: Object.assign({}, fields, { email, password }),
    headers: { Accept: 'text/html' },
    redirects: 0,
  });
  if (posted.status === 200 && String(posted.body).includes('name="decision"')) {
    // A third-party client: the consent screen, asked once per user and client; say yes.
    const consent = readForm(posted);
    posted = post(consent.action, null, {
      form: Object.assign({}, consent.fields, { decision: 'allow' }),
      headers: { Accept: 'text/html' },
      redirects: 0,
    });
  }
  const location = header(posted, 'Location') || '';
  const code = queryParam(location, 'code');
  must(check(posted, {
    'authorize: 302/303 to redirect_uri': (x) => (x.status === 302 || x.status === 303)
      && location.startsWith(redirectUri),
    'authorize: state echoed': () => queryParam(location, 'state') === state,
    'authorize: code issued': () => Boolean(code),
  }), `sign-in for ${email} failed: ${posted.status} ${location || String(posted.body).slice(0, 300)}`);

  const r = post('/oauth/token', null, {
    form: {
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier,
    },
  });
  const body = json(r) || {};
  must(check(r, {
    'token: code exchanged': (x) => x.status === 200 && typeof body.access_token === 'string',
    'token: refresh_token issued': () => typeof body.refresh_token === 'string',
  }), `code exchange failed: ${r.status} ${r.body}`);
  return body;
}

/** Everything the functional suites need from the harness's environment. */
export function harnessCredentials(env) {
  const need = (n) => {
    if (!env[n]) throw new Error(`environment variable ${n} is required (see k6/README.md)`);
    return env[n];
  };
  return {
    clientId: need('CLIENT_ID'),
    clientSecret: need('CLIENT_SECRET'),
    publicClientId: need('PUBLIC_CLIENT_ID'),
    redirectUri: need('REDIRECT_URI'),
    user1: { email: need('USER1_EMAIL'), password: need('USER1_PASSWORD') },
    user2: { email: need('USER2_EMAIL'), password: need('USER2_PASSWORD') },
    admin: { email: need('ADMIN_EMAIL'), password: need('ADMIN_PASSWORD') },
  };
}

/** Sign in the two shoppers and the admin, and get the integrator's catalog token. */
export function allTokens(env) {
  const c = harnessCredentials(env);
  const signin = (u, scope) => signIn({
    clientId: c.publicClientId, redirectUri: c.redirectUri, email: u.email, password: u.password, scope,
  }).access_token;
  return {
    catalog: clientCredentials(c.clientId, c.clientSecret),
    user1: signin(c.user1, SHOPPER_SCOPES),
    user2: signin(c.user2, SHOPPER_SCOPES),
    admin: signin(c.admin, ADMIN_SCOPES),
    user1Email: c.user1.email,
    user2Email: c.user2.email,
  };
}
