// The test provider's hosted card field, inside its own frame: the number is typed here and
// sent only to the provider's tokenizing endpoint; the shop's page gets back a token.
// Protocol (postMessage, same origin as the parent only):
//   parent -> frame  {type: "testpay:tokenize", id}
//   frame -> parent  {type: "testpay:token", id, token, brand, last4} | {type: "testpay:error", id, message}
//   frame -> parent  {type: "testpay:height", height}   (so the parent can size the frame)
import { tokenize } from "./hosted-fields.js";

const form = document.getElementById("card");
const error = document.getElementById("error");

function fail(message, field) {
  error.textContent = message;
  form.querySelectorAll("input").forEach((i) => i.removeAttribute("aria-invalid"));
  if (field) {
    form.elements[field].setAttribute("aria-invalid", "true");
    form.elements[field].focus();
  }
  return { message };
}

function read() {
  const number = form.elements.number.value.replace(/[\s-]/g, "");
  const exp = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(form.elements.exp.value);
  const cvc = form.elements.cvc.value.trim();
  if (!/^\d{12,19}$/.test(number)) return fail("Enter the card number (12 to 19 digits).", "number");
  if (!exp || Number(exp[1]) < 1 || Number(exp[1]) > 12) return fail("Enter the expiry as MM/YY.", "exp");
  if (!/^\d{3,4}$/.test(cvc)) return fail("Enter the 3 or 4 digits on the back.", "cvc");
  const year = exp[2].length === 2 ? 2000 + Number(exp[2]) : Number(exp[2]);
  return { card: { number, expMonth: Number(exp[1]), expYear: year, cvc } };
}

window.addEventListener("message", async (event) => {
  if (event.origin !== location.origin || event.source !== window.parent) return;
  const msg = event.data || {};
  if (msg.type !== "testpay:tokenize") return;
  const reply = (data) => window.parent.postMessage({ id: msg.id, ...data }, location.origin);
  const got = read();
  if (!got.card) return reply({ type: "testpay:error", message: got.message });
  error.textContent = "";
  try {
    const { token, brand, last4 } = await tokenize(got.card);
    reply({ type: "testpay:token", token, brand, last4 });
  } catch (err) {
    reply({ type: "testpay:error", message: fail(err.message || "The card was not accepted.").message });
  }
});

form.addEventListener("submit", (e) => e.preventDefault());
const report = () => window.parent.postMessage({ type: "testpay:height", height: document.body.scrollHeight },
  location.origin);
new ResizeObserver(report).observe(document.body);
report();
