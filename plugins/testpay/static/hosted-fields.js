// The test provider's "hosted field": card data goes from the browser to the provider's
// tokenizing endpoint, never to the shop's API. A real provider serves this from its own origin.
//
//   import { tokenize, completeAction } from "/test-provider/hosted-fields.js";
//   const { token } = await tokenize({ number, expMonth, expYear, cvc });
//   await fetch(`/api/payments/${payment.id}/confirm`, { method: "POST", body: JSON.stringify({ paymentToken: token }) ... });

const BASE = new URL(".", import.meta.url);

async function post(path, body) {
  const res = await fetch(new URL(path, BASE), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
    credentials: "omit", // the provider needs no shop session
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.detail || `tokenizing failed (${res.status})`);
    err.problem = data;
    throw err;
  }
  return data;
}

/** Card fields -> {token, brand, last4}. */
export function tokenize({ number, expMonth, expYear, cvc }) {
  return post("tokens", { number: String(number), expMonth: Number(expMonth), expYear: Number(expYear), cvc: String(cvc) });
}

/** Completes the extra step (the 3-D Secure stand-in) of a payment in status requires_action. */
export function completeAction(nextAction) {
  const url = new URL(nextAction.url, BASE);
  return post(url.pathname.replace(/^\/test-provider\//, ""));
}
