// Every call the storefront makes to the shop lives in this one module, so a
// renamed GraphQL field or argument is a one-line change here. Views import
// the named functions below and never build queries themselves.

import { markSignedOut, session } from './session.js';

export class ApiError extends Error {
  constructor({ message, code, reason, fieldErrors, status, retryAfter }) {
    super(message || code || 'Request failed');
    this.name = 'ApiError';
    this.code = code || 'UNKNOWN';
    this.reason = reason || null;
    this.fieldErrors = fieldErrors || [];
    this.status = status || 0;
    this.retryAfter = retryAfter || null;
  }
}

const HTTP_CODES = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'FAILED_PRECONDITION',
  422: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/** A random idempotency key: one per intended money/stock movement. */
export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function onUnauthenticated(err) {
  if (err.code === 'UNAUTHENTICATED') markSignedOut();
  return err;
}

async function readJson(res) {
  const type = res.headers.get('Content-Type') || '';
  if (!type.includes('json')) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/** POST /graphql. Resolves to `data`; rejects with ApiError carrying code/reason/field errors. */
export async function gql(query, variables = {}) {
  let res;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': session.csrfToken || '' },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError({ code: 'NETWORK', message: '' });
  }
  const body = await readJson(res);
  const retryAfter = res.headers.get('Retry-After');
  if (body && Array.isArray(body.errors) && body.errors.length) {
    const e = body.errors[0];
    const ext = e.extensions || {};
    throw onUnauthenticated(new ApiError({
      message: e.message, code: ext.code || HTTP_CODES[res.status] || 'UNKNOWN', reason: ext.reason,
      fieldErrors: ext.errors, status: res.status, retryAfter,
    }));
  }
  if (!res.ok || !body || !body.data) {
    throw onUnauthenticated(new ApiError({ code: HTTP_CODES[res.status] || 'UNKNOWN', status: res.status, retryAfter }));
  }
  return body.data;
}

// ---------------------------------------------------------------- fragments

const PRODUCT = `id slug name description categoryId categorySlug priceMinor currency stockQty
  displayPriceMinor displayCurrency options { name values }
  variants { id sku options { name value } priceMinor currency stockQty }
  images { id url alt width height contentType renditions { url width height contentType } }`;
const FACETS = 'facets { categories { slug count } options { name values { value count } } price { min max currency } }';
const CATEGORY = 'id slug name';
const CART = `id items { productId variantId sku options { name value } slug name qty unitPriceMinor currency
  lineTotalMinor } totals { currency amountMinor }`;
const ORDER = `id status totalMinor currency paymentMethod cardBrand cardLast4 createdAt cancelledAt
  items { productId slug name qty unitPriceMinor currency lineTotalMinor }
  subtotalMinor shippingMinor taxMinor refundedMinor email paidAt updatedAt cancelReason
  shippingAddress { name line1 line2 city postalCode region country }
  shippingMethod { name priceMinor currency }
  fulfillments { id carrier trackingNumber createdAt } refunds { id amountMinor currency reason createdAt }`;
const WALLET = 'id currency balanceMinor';
const LEDGER = 'id transactionId kind amountMinor currency memo createdAt';
const TRANSFER = 'id currency amountMinor toEmail balanceMinor createdAt';

// ---------------------------------------------------------------- catalogue

export async function getCategories() {
  return (await gql(`query { categories { ${CATEGORY} } }`)).categories;
}

/**
 * A page of products. Filters (docs/catalog.md): minPrice/maxPrice in minor units
 * (of displayCurrency when given), inStock, options [{name, value}]; with
 * displayCurrency each product carries displayPriceMinor and price sorts compare
 * the converted prices, so currencies never interleave.
 */
export async function getProducts({ categorySlug = null, search = null, page = 1, pageSize = 12, sort = null,
  minPrice = null, maxPrice = null, inStock = null, options = null, displayCurrency = null, facets = false } = {}) {
  const data = await gql(
    `query Products($categorySlug: String, $search: String, $page: Int, $pageSize: Int, $sort: String,
      $minPrice: Int, $maxPrice: Int, $inStock: Boolean, $options: [OptionFilterInput!], $displayCurrency: String,
      $facets: Boolean) {
      products(categorySlug: $categorySlug, search: $search, page: $page, pageSize: $pageSize, sort: $sort,
        minPrice: $minPrice, maxPrice: $maxPrice, inStock: $inStock, options: $options,
        displayCurrency: $displayCurrency, facets: $facets) {
        items { ${PRODUCT} } page pageSize total ${facets ? FACETS : ''} } }`,
    { categorySlug, search, page, pageSize, sort, minPrice, maxPrice, inStock, options, displayCurrency, facets },
  );
  return data.products;
}

/** The currencies the shop accepts (wallet plugin), for the display-currency selector. */
export async function getShopCurrencies() {
  return (await gql('query { walletCurrencies { code } }')).walletCurrencies.map((c) => c.code);
}

export async function getProduct(slug) {
  const data = await gql(`query Product($slug: String!) { product(slug: $slug) { ${PRODUCT} } }`, { slug });
  return data.product;
}

// ---------------------------------------------------------------- account

export async function getMe() {
  return (await gql('query { me { id email name roles createdAt } }')).me;
}

// ---------------------------------------------------------------- cart

export async function getCart() {
  return (await gql(`query { cart { ${CART} } }`)).cart;
}

export async function addToCart(productId, qty, variantId = null) {
  return (await gql(`mutation Add($productId: ID!, $qty: Int!, $variantId: ID) {
    addToCart(productId: $productId, qty: $qty, variantId: $variantId) { ${CART} } }`,
  { productId, qty, variantId })).addToCart;
}

export async function setCartVariant(variantId, qty) {
  return (await gql(`mutation SetV($variantId: ID!, $qty: Int!) { setCartVariant(variantId: $variantId, qty: $qty) {
    ${CART} } }`, { variantId, qty })).setCartVariant;
}

export async function removeCartVariant(variantId) {
  return (await gql(`mutation RemoveV($variantId: ID!) { removeCartVariant(variantId: $variantId) { ${CART} } }`,
    { variantId })).removeCartVariant;
}

export async function setCartItem(productId, qty) {
  return (await gql(`mutation Set($productId: ID!, $qty: Int!) { setCartItem(productId: $productId, qty: $qty) { ${CART} } }`,
    { productId, qty })).setCartItem;
}

export async function removeCartItem(productId) {
  return (await gql(`mutation Remove($productId: ID!) { removeCartItem(productId: $productId) { ${CART} } }`,
    { productId })).removeCartItem;
}

// ---------------------------------------------------------------- checkout and orders

export async function checkoutWithWallet(walletCurrency, idempotencyKey) {
  return (await gql(`mutation Checkout($walletCurrency: String!, $idempotencyKey: String!) {
      checkout(walletCurrency: $walletCurrency, idempotencyKey: $idempotencyKey) { ${ORDER} } }`,
  { walletCurrency, idempotencyKey })).checkout;
}

/** card: {number, expMonth, expYear, cvc, holder} */
export async function checkoutWithCard(card, currency, idempotencyKey) {
  return (await gql(`mutation CardCheckout($card: CardPaymentInput!, $currency: String!, $idempotencyKey: String!) {
      checkoutWithCard(card: $card, currency: $currency, idempotencyKey: $idempotencyKey) { ${ORDER} } }`,
  { card, currency, idempotencyKey })).checkoutWithCard;
}

const ADDRESS = 'id name line1 line2 city postalCode region country phone';
const PAYMENT = 'id provider status amountMinor currency nextAction { type url } lastError brand last4';

/** Wallet checkout with the shipping choice: where ({addressId} or {shippingAddress}) and how (shippingMethodId). */
export async function checkoutWalletTo(walletCurrency, ship, idempotencyKey) {
  return (await gql(`mutation CheckoutTo($walletCurrency: String!, $shippingAddress: ShippingAddressInput, $addressId: ID,
      $shippingMethodId: ID, $idempotencyKey: String) {
      checkout(walletCurrency: $walletCurrency, shippingAddress: $shippingAddress, addressId: $addressId,
        shippingMethodId: $shippingMethodId, idempotencyKey: $idempotencyKey) { ${ORDER} } }`,
  { walletCurrency, ...ship, idempotencyKey })).checkout;
}

/** Card checkout through a payment intent: the order awaits payment, its sums are final (no card data here). */
export async function checkoutByCard(currency, ship, email, idempotencyKey) {
  return (await gql(`mutation CheckoutByCard($currency: String!, $shippingAddress: ShippingAddressInput, $addressId: ID,
      $shippingMethodId: ID, $email: String, $idempotencyKey: String) {
      checkoutByCard(currency: $currency, shippingAddress: $shippingAddress, addressId: $addressId,
        shippingMethodId: $shippingMethodId, email: $email, idempotencyKey: $idempotencyKey) {
        ${ORDER} orderLink payment { id provider status } } }`,
  { currency, ...ship, email, idempotencyKey })).checkoutByCard;
}

/** Confirms a payment intent with the provider's token (safe to repeat). */
export async function confirmPayment(id, paymentToken) {
  return (await gql(`mutation Confirm($id: ID!, $paymentToken: String!) {
      confirmPayment(id: $id, paymentToken: $paymentToken) { ${PAYMENT} } }`, { id, paymentToken })).confirmPayment;
}

export async function getGuestOrder(token) {
  return (await gql(`query GuestOrder($token: String!) { guestOrder(token: $token) { ${ORDER} } }`, { token })).guestOrder;
}

export async function getShippingMethods(country, currency) {
  return (await gql(`query Methods($country: String!, $currency: String!) {
      shippingMethods(country: $country, currency: $currency) { id name priceMinor currency } }`,
  { country, currency })).shippingMethods;
}

export async function getMyAddresses() {
  return (await gql(`query { myAddresses { ${ADDRESS} } }`)).myAddresses;
}

/** a: {name, line1, line2, city, postalCode, region, country, phone} */
export async function createAddress(a) {
  return (await gql(`mutation AddAddress($name: String!, $line1: String!, $line2: String, $city: String!,
      $postalCode: String, $region: String, $country: String!, $phone: String) {
      createAddress(name: $name, line1: $line1, line2: $line2, city: $city, postalCode: $postalCode, region: $region,
        country: $country, phone: $phone) { ${ADDRESS} } }`, a)).createAddress;
}

/** Changes a saved address: every field of `a` is sent (empty optional fields as null clear them). */
export async function updateAddress(id, a) {
  const v = { id, ...a };
  for (const k of ['line2', 'postalCode', 'region', 'phone']) if (v[k] === undefined) v[k] = null;
  return (await gql(`mutation EditAddress($id: ID!, $name: String, $line1: String, $line2: String, $city: String,
      $postalCode: String, $region: String, $country: String, $phone: String) {
      updateAddress(id: $id, name: $name, line1: $line1, line2: $line2, city: $city, postalCode: $postalCode,
        region: $region, country: $country, phone: $phone) { ${ADDRESS} } }`, v)).updateAddress;
}

/** What checkout would charge: {currency, subtotalMinor, shippingMinor, taxMinor, totalMinor, taxRate, taxInclusive}. */
export async function quoteCheckout(currency, ship) {
  return (await gql(`query Quote($currency: String!, $shippingAddress: ShippingAddressInput, $addressId: ID,
      $shippingMethodId: ID) {
      checkoutQuote(currency: $currency, shippingAddress: $shippingAddress, addressId: $addressId,
        shippingMethodId: $shippingMethodId) { currency subtotalMinor shippingMinor taxMinor totalMinor taxRate
        taxInclusive shippingMethod { id name priceMinor currency } } }`, { currency, ...ship })).checkoutQuote;
}

export async function deleteAddress(id) {
  return (await gql('mutation DelAddress($id: ID!) { deleteAddress(id: $id) { id deleted } }', { id })).deleteAddress;
}

export async function getOrders(page = 1, pageSize = 10) {
  return (await gql(`query Orders($page: Int, $pageSize: Int) { orders(page: $page, pageSize: $pageSize) {
      items { ${ORDER} } page pageSize total } }`, { page, pageSize })).orders;
}

export async function getOrder(id) {
  return (await gql(`query Order($id: ID!) { order(id: $id) { ${ORDER} } }`, { id })).order;
}

export async function cancelOrder(id, idempotencyKey) {
  return (await gql(`mutation Cancel($id: ID!, $idempotencyKey: String!) {
      cancelOrder(id: $id, idempotencyKey: $idempotencyKey) { ${ORDER} } }`, { id, idempotencyKey })).cancelOrder;
}

// ---------------------------------------------------------------- wallet

/** Currencies the shop accepts: [{code, exponent}]. */
export async function getWalletCurrencies() {
  return (await gql('query { walletCurrencies { code exponent } }')).walletCurrencies;
}

export async function getWallets() {
  return (await gql(`query { walletBalances { ${WALLET} } }`)).walletBalances;
}

export async function topUpWallet(currency, amountMinor, idempotencyKey) {
  return (await gql(`mutation TopUp($currency: String!, $amountMinor: Int!, $idempotencyKey: String!) {
      topUpWallet(currency: $currency, amountMinor: $amountMinor, idempotencyKey: $idempotencyKey) { ${WALLET} } }`,
  { currency, amountMinor, idempotencyKey })).topUpWallet;
}

export async function transferMoney({ toEmail, currency, amountMinor, memo }, idempotencyKey) {
  return (await gql(`mutation Transfer($toEmail: String!, $currency: String!, $amountMinor: Int!, $memo: String,
      $idempotencyKey: String!) {
      transferMoney(toEmail: $toEmail, currency: $currency, amountMinor: $amountMinor, memo: $memo,
        idempotencyKey: $idempotencyKey) { ${TRANSFER} } }`,
  { toEmail, currency, amountMinor, memo: memo || null, idempotencyKey })).transferMoney;
}

export async function getWalletTransactions(currency, page = 1, pageSize = 10) {
  return (await gql(`query Tx($currency: String!, $page: Int, $pageSize: Int) {
      walletTransactions(currency: $currency, page: $page, pageSize: $pageSize) { items { ${LEDGER} } page pageSize total } }`,
  { currency, page, pageSize })).walletTransactions;
}

// ---------------------------------------------------------------- admin

export async function createCategory({ slug, name }) {
  return (await gql(`mutation CreateCategory($slug: String!, $name: String!) {
      createCategory(slug: $slug, name: $name) { ${CATEGORY} } }`, { slug, name })).createCategory;
}

export async function updateCategory({ id, slug, name }) {
  return (await gql(`mutation UpdateCategory($id: ID!, $slug: String, $name: String) {
      updateCategory(id: $id, slug: $slug, name: $name) { ${CATEGORY} } }`, { id, slug, name })).updateCategory;
}

export async function createProduct(p) {
  return (await gql(`mutation CreateProduct($slug: String!, $name: String!, $description: String, $categoryId: ID!,
      $priceMinor: Int!, $currency: String!, $stockQty: Int) {
      createProduct(slug: $slug, name: $name, description: $description, categoryId: $categoryId,
        priceMinor: $priceMinor, currency: $currency, stockQty: $stockQty) { ${PRODUCT} } }`, p)).createProduct;
}

export async function updateProduct({ id, slug, name, description, categoryId }) {
  return (await gql(`mutation UpdateProduct($id: ID!, $slug: String, $name: String, $description: String, $categoryId: ID) {
      updateProduct(id: $id, slug: $slug, name: $name, description: $description, categoryId: $categoryId) { ${PRODUCT} } }`,
  { id, slug, name, description, categoryId })).updateProduct;
}

export async function setPrice(id, priceMinor, currency) {
  return (await gql(`mutation SetPrice($id: ID!, $priceMinor: Int!, $currency: String!) {
      setPrice(id: $id, priceMinor: $priceMinor, currency: $currency) { ${PRODUCT} } }`,
  { id, priceMinor, currency })).setPrice;
}

export async function setStock(id, stockQty) {
  return (await gql(`mutation SetStock($id: ID!, $stockQty: Int!) { setStock(id: $id, stockQty: $stockQty) { ${PRODUCT} } }`,
    { id, stockQty })).setStock;
}

const VARIANT = 'id productId sku options { name value } priceMinor currency stockQty';

export async function setVariantPrice(id, priceMinor, currency) {
  return (await gql(`mutation SetVP($id: ID!, $priceMinor: Int!, $currency: String!) {
      setVariantPrice(id: $id, priceMinor: $priceMinor, currency: $currency) { ${VARIANT} } }`,
  { id, priceMinor, currency })).setVariantPrice;
}

export async function setVariantStock(id, stockQty) {
  return (await gql(`mutation SetVS($id: ID!, $stockQty: Int!) { setVariantStock(id: $id, stockQty: $stockQty) { ${VARIANT} } }`,
    { id, stockQty })).setVariantStock;
}

// ---------------------------------------------------------------- admin: low stock

export async function getLowStock({ threshold = 5, page = 1, pageSize = 20 } = {}) {
  return (await gql(`query Low($threshold: Int, $page: Int, $pageSize: Int) {
      lowStock(threshold: $threshold, page: $page, pageSize: $pageSize) {
        items { productId productSlug productName variant { ${VARIANT} } } page pageSize total threshold } }`,
  { threshold, page, pageSize })).lowStock;
}

// ---------------------------------------------------------------- admin: webhooks

const WEBHOOK = 'id url events active createdAt disabledAt disabledReason';
const DELIVERY = `id endpointId eventId eventType state attemptCount createdAt nextAttemptAt
  attempts { attemptedAt statusCode durationMs error responseExcerpt manual }`;

export async function getWebhooks() {
  return (await gql(`query { webhooks { ${WEBHOOK} } }`)).webhooks;
}

export async function createWebhook(url, events) {
  return (await gql(`mutation CreateWebhook($url: String!, $events: [String!]!) {
      createWebhook(url: $url, events: $events) { id url events active secret createdAt } }`, { url, events })).createWebhook;
}

export async function setWebhookActive(id, active) {
  return (await gql(`mutation SetActive($id: ID!, $active: Boolean!) {
      setWebhookActive(id: $id, active: $active) { ${WEBHOOK} } }`, { id, active })).setWebhookActive;
}

export async function deleteWebhook(id) {
  return (await gql('mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) { id deleted } }', { id })).deleteWebhook;
}

export async function getWebhookDeliveries(id, limit = 50) {
  return (await gql(`query Deliveries($id: ID!, $limit: Int) { webhookDeliveries(id: $id, limit: $limit) { ${DELIVERY} } }`,
    { id, limit })).webhookDeliveries;
}

export async function redeliverWebhook(id, deliveryId) {
  return (await gql(`mutation Redeliver($id: ID!, $deliveryId: ID!) {
      redeliverWebhook(id: $id, deliveryId: $deliveryId) { ${DELIVERY} } }`, { id, deliveryId })).redeliverWebhook;
}

// ---------------------------------------------------------------- account

export async function updateMe(name) {
  return (await gql('mutation UpdateMe($name: String!) { updateMe(name: $name) { id email name roles createdAt } }',
    { name })).updateMe;
}

export async function changePassword(currentPassword, newPassword) {
  return (await gql(`mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
      changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { changed signedOut } }`,
  { currentPassword, newPassword })).changePassword;
}

/** Always resolves the same way whether the email has an account (the mail says the rest). */
export async function requestPasswordReset(email) {
  return (await gql('mutation Forgot($email: String!) { requestPasswordReset(email: $email) { accepted expiresIn } }',
    { email })).requestPasswordReset;
}

export async function resetPassword(token, password) {
  return (await gql(`mutation Reset($token: String!, $password: String!) {
      resetPassword(token: $token, password: $password) { reset signedOut } }`, { token, password })).resetPassword;
}

export async function getMyGrants() {
  return (await gql('query { myGrants { clientId clientName scopes { name description } createdAt updatedAt } }')).myGrants;
}

export async function revokeGrant(clientId) {
  return (await gql('mutation Revoke($clientId: ID!) { revokeGrant(clientId: $clientId) { clientId revoked } }',
    { clientId })).revokeGrant;
}

// ---------------------------------------------------------------- admin: orders and sales

export async function getAllOrders({ page = 1, pageSize = 20, status = null, email = null } = {}) {
  return (await gql(`query AllOrders($page: Int, $pageSize: Int, $status: String, $email: String) {
      allOrders(page: $page, pageSize: $pageSize, status: $status, email: $email) { items { ${ORDER} userId } page pageSize total } }`,
  { page, pageSize, status, email })).allOrders;
}

export async function getAdminOrder(id) {
  return (await gql(`query AdminOrder($id: ID!) { adminOrder(id: $id) { ${ORDER} userId } }`, { id })).adminOrder;
}

export async function fulfilOrder(id, carrier, trackingNumber, idempotencyKey) {
  return (await gql(`mutation Fulfil($id: ID!, $carrier: String!, $trackingNumber: String!, $idempotencyKey: String) {
      fulfilOrder(id: $id, carrier: $carrier, trackingNumber: $trackingNumber, idempotencyKey: $idempotencyKey) { ${ORDER} userId } }`,
  { id, carrier, trackingNumber, idempotencyKey })).fulfilOrder;
}

export async function refundOrder(id, amountMinor, reason, idempotencyKey) {
  return (await gql(`mutation Refund($id: ID!, $amountMinor: Int!, $reason: String, $idempotencyKey: String) {
      refundOrder(id: $id, amountMinor: $amountMinor, reason: $reason, idempotencyKey: $idempotencyKey) { ${ORDER} userId } }`,
  { id, amountMinor, reason, idempotencyKey })).refundOrder;
}

export async function getCustomers(page = 1, pageSize = 20) {
  return (await gql(`query Customers($page: Int, $pageSize: Int) { customers(page: $page, pageSize: $pageSize) {
      items { userId email orderCount totals { currency amountMinor } lastOrderAt } page pageSize total } }`,
  { page, pageSize })).customers;
}

export async function getSalesReport(days = 30) {
  return (await gql(`query Sales($days: Int) { salesReport(days: $days) { days since
      currencies { currency orders revenueMinor days { date orders revenueMinor } } } }`, { days })).salesReport;
}

// ---------------------------------------------------------------- admin: images

/**
 * POST /api/admin/products/{id}/images as multipart/form-data (GraphQL carries no files).
 * Errors come back as RFC 9457 problems and reject like gql() does.
 */
export async function uploadImage(productId, file, alt) {
  const body = new FormData();
  body.append('file', file);
  if (alt) body.append('alt', alt);
  let res;
  try {
    res = await fetch(`/api/admin/products/${encodeURIComponent(productId)}/images`, {
      method: 'POST', credentials: 'same-origin', body,
      headers: { Accept: 'application/json', 'X-CSRF-Token': session.csrfToken || '' },
    });
  } catch {
    throw new ApiError({ code: 'NETWORK', message: '' });
  }
  const data = await readJson(res);
  if (!res.ok) {
    const p = data || {};
    throw onUnauthenticated(new ApiError({
      message: p.detail, code: p.code || HTTP_CODES[res.status] || 'UNKNOWN', reason: p.reason,
      fieldErrors: p.errors, status: res.status, retryAfter: res.headers.get('Retry-After'),
    }));
  }
  return data;
}

export async function deleteImage(id) {
  return (await gql('mutation DeleteImage($id: ID!) { deleteImage(id: $id) { id deleted } }', { id })).deleteImage;
}

// ---------------------------------------------------------------- admin: shipping and tax

const ZONE = 'id name countries methods { id name prices { currency priceMinor } } createdAt';

export async function getShippingSettings() {
  const d = await gql(`query { shippingZones { ${ZONE} } taxRates { country rate inclusive updatedAt } }`);
  return { zones: d.shippingZones || [], rates: d.taxRates || [] };
}

export async function createShippingZone(name, countries) {
  return (await gql(`mutation Zone($name: String!, $countries: [String!]) {
      createShippingZone(name: $name, countries: $countries) { ${ZONE} } }`, { name, countries })).createShippingZone;
}

export async function updateShippingZone(id, name, countries) {
  return (await gql(`mutation EditZone($id: ID!, $name: String, $countries: [String!]) {
      updateShippingZone(id: $id, name: $name, countries: $countries) { ${ZONE} } }`, { id, name, countries })).updateShippingZone;
}

export async function deleteShippingZone(id) {
  return (await gql('mutation DelZone($id: ID!) { deleteShippingZone(id: $id) { id deleted } }', { id })).deleteShippingZone;
}

/** prices: [{currency, priceMinor}] */
export async function createShippingMethod(zoneId, name, prices) {
  return (await gql(`mutation Method($zoneId: ID!, $name: String!, $prices: [MethodPriceInput!]) {
      createShippingMethod(zoneId: $zoneId, name: $name, prices: $prices) { ${ZONE} } }`,
  { zoneId, name, prices })).createShippingMethod;
}

export async function deleteShippingMethod(zoneId, id) {
  return (await gql(`mutation DelMethod($zoneId: ID!, $id: ID!) { deleteShippingMethod(zoneId: $zoneId, id: $id) { ${ZONE} } }`,
    { zoneId, id })).deleteShippingMethod;
}

export async function setTaxRate(country, rate, inclusive) {
  return (await gql(`mutation Rate($country: String!, $rate: String!, $inclusive: Boolean) {
      setTaxRate(country: $country, rate: $rate, inclusive: $inclusive) { country rate inclusive updatedAt } }`,
  { country, rate, inclusive })).setTaxRate;
}

export async function deleteTaxRate(country) {
  return (await gql('mutation DelRate($country: String!) { deleteTaxRate(country: $country) { id deleted } }',
    { country })).deleteTaxRate;
}
