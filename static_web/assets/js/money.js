// Money: the API speaks integer minor units + ISO 4217 code. Exponents come
// from Intl (JPY 0, EUR 2, BHD 3). Parsing typed amounts uses string
// arithmetic only: a float never touches an amount.

const exponents = new Map();

export function exponentOf(currency) {
  if (!exponents.has(currency)) {
    let exp = 2;
    try {
      exp = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch {
      exp = 2; // unknown code: the server will reject it anyway; show something sensible
    }
    exponents.set(currency, exp);
  }
  return exponents.get(currency);
}

/** 1250, 2 -> "12.50"; -5, 2 -> "-0.05"; 7, 0 -> "7". Exact for any safe integer. */
export function minorToDecimalString(minor, exp) {
  const negative = minor < 0;
  const digits = String(Math.abs(Math.trunc(Number(minor)))).padStart(exp + 1, '0');
  const whole = exp ? digits.slice(0, -exp) : digits;
  const frac = exp ? digits.slice(-exp) : '';
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

const formatters = new Map();

export function formatMoney(minor, currency, locale) {
  if (minor === null || minor === undefined || !currency) return '';
  const key = `${locale || ''}|${currency}`;
  let nf = formatters.get(key);
  if (!nf) {
    try {
      nf = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      nf = null;
    }
    formatters.set(key, nf);
  }
  const exp = exponentOf(currency);
  const decimal = minorToDecimalString(minor, exp);
  if (!nf) return `${decimal} ${currency}`;
  // Intl.NumberFormat formats decimal strings exactly (ES2023); older engines
  // convert to Number, which is exact for every amount a shop shows.
  return nf.format(decimal);
}

/**
 * Parse what a shopper typed ("12.50", "12,5", "1 000", "7") into minor units.
 * Returns {ok: true, minor} or {ok: false, message}.
 */
export function parseMajor(text, currency, { allowZero = false } = {}) {
  const exp = exponentOf(currency);
  const raw = String(text ?? '').trim().replace(/[\s\u00a0']/g, '');
  if (!raw) return { ok: false, message: 'Enter an amount.' };
  const m = /^(\d+)(?:[.,](\d*))?$/.exec(raw);
  if (!m) return { ok: false, message: 'Enter an amount like 12.50 (digits and one decimal point).' };
  const whole = m[1].replace(/^0+(?=\d)/, '');
  const frac = m[2] || '';
  if (frac.length > exp) {
    return {
      ok: false,
      message: exp === 0 ? `${currency} has no decimal places.` : `${currency} allows at most ${exp} decimal places.`,
    };
  }
  const digits = (whole + frac.padEnd(exp, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > 15) return { ok: false, message: 'That amount is too large.' };
  const minor = Number(digits); // <= 15 digits: an exact integer
  if (minor <= 0 && !allowZero) return { ok: false, message: 'Enter an amount greater than zero.' };
  return { ok: true, minor };
}

/** Minor units -> the plain string an input shows ("12.50"). */
export function minorToInput(minor, currency) {
  return minorToDecimalString(minor, exponentOf(currency));
}

/** Currencies offered in selects besides the ones the shopper already holds. */
export const COMMON_CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CHF'];
