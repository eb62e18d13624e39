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

/**
 * Mounts the provider's card field (its own frame) into `container`. The shop's page never
 * holds an input for the card number: `tokenize()` asks the frame, which sends the card to
 * the provider and answers with `{token, brand, last4}` (or rejects with the frame's message).
 */
export function mountCardField(container, { title = "Card details" } = {}) {
  const frame = document.createElement("iframe");
  frame.src = new URL("card-frame.html", BASE).href;
  frame.title = title;
  frame.className = "card-frame";
  frame.setAttribute("data-testid", "card-frame");
  container.append(frame);
  const ready = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
  const pending = new Map();
  let next = 0;
  const onMessage = (event) => {
    if (event.origin !== location.origin || event.source !== frame.contentWindow) return;
    const msg = event.data || {};
    if (msg.type === "testpay:height") {
      frame.style.height = `${Math.ceil(Number(msg.height) || 0) + 4}px`;
      return;
    }
    const waiter = pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.type === "testpay:token") waiter.resolve({ token: msg.token, brand: msg.brand, last4: msg.last4 });
    else waiter.reject(Object.assign(new Error(msg.message || "The card was not accepted."), { code: "CARD_INVALID" }));
  };
  window.addEventListener("message", onMessage);
  return {
    frame,
    async tokenize() {
      await ready;
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        frame.contentWindow.postMessage({ type: "testpay:tokenize", id }, location.origin);
      });
    },
    destroy() {
      window.removeEventListener("message", onMessage);
      frame.remove();
    },
  };
}
