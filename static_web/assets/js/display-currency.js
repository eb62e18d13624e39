// The shopper's display currency: remembered in this browser (localStorage),
// sent as displayCurrency so prices, price filters and price sorts all use the
// checkout's exact conversion. '' means "each product's own currency".

const KEY = 'shop.displayCurrency';

export function displayCurrency() {
  try {
    const v = localStorage.getItem(KEY) || '';
    return /^[A-Z]{3}$/.test(v) ? v : '';
  } catch {
    return '';
  }
}

export function setDisplayCurrency(code) {
  try {
    if (code) localStorage.setItem(KEY, code); else localStorage.removeItem(KEY);
  } catch { /* private mode: the choice lasts for this page only */ }
}
