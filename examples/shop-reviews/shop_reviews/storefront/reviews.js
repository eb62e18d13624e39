// Reviews on the product page (slot "product.details"): the rating, the newest
// reviews and, for signed-in shoppers, a form. Served by the kernel from this
// plugin's package data at /plugin-ui/reviews/reviews.js (same origin: the
// storefront's CSP allows it). Builds DOM with ctx.h only (never innerHTML).

const STARS = 5;

function stars(h, hundredths) {
  const rounded = Math.round(hundredths / 100);
  const label = `${(hundredths / 100).toFixed(1)} out of ${STARS} stars`;
  return h('span', { class: 'stars', role: 'img', 'aria-label': label },
    '★'.repeat(rounded) + '☆'.repeat(STARS - rounded));
}

export async function mount(slot, ctx) {
  const { h, product, session, api } = ctx;
  const slug = encodeURIComponent(product.slug);
  const summary = h('p', { testid: 'review-summary', class: 'muted' }, 'Loading reviews…');
  const list = h('ul', { class: 'review-list', testid: 'review-list' });
  const section = h('section', { class: 'panel reviews', 'aria-labelledby': 'reviews-title', testid: 'reviews' },
    h('h2', { id: 'reviews-title' }, 'Reviews'), summary, list);
  slot.append(section);

  async function load() {
    const [rating, page] = await Promise.all([
      api.getJson(`/api/products/${slug}/rating`), api.getJson(`/api/products/${slug}/reviews?pageSize=5`)]);
    summary.replaceChildren();
    if (!rating.count) summary.append('No reviews yet.');
    else summary.append(stars(h, rating.averageHundredths), ` ${(rating.averageHundredths / 100).toFixed(1)} · `,
      rating.count === 1 ? '1 review' : `${rating.count} reviews`);
    summary.dataset.count = String(rating.count);
    list.replaceChildren(...page.items.map((r) => h('li', { class: 'review', testid: 'review' },
      stars(h, r.rating * 100), r.body ? h('p', null, r.body) : null)));
  }
  try {
    await load();
  } catch {
    summary.textContent = 'Reviews are unavailable right now.';
  }
  if (!session.authenticated) return;

  const message = h('div', { class: 'alert', role: 'status', testid: 'review-message' });
  const rating = h('select', { id: 'review-rating', name: 'rating', testid: 'review-rating' },
    [5, 4, 3, 2, 1].map((n) => h('option', { value: String(n) }, `${n} ${n === 1 ? 'star' : 'stars'}`)));
  const body = h('textarea', { id: 'review-body', name: 'body', maxlength: 2000, rows: 3, testid: 'review-body' });
  const submit = h('button', { type: 'submit', class: 'btn' }, 'Post review');
  const form = h('form', { class: 'stack', testid: 'review-form' },
    h('h3', null, 'Review this product'),
    h('div', { class: 'field' }, h('label', { for: 'review-rating' }, 'Rating'), rating),
    h('div', { class: 'field' }, h('label', { for: 'review-body' }, 'Your review (optional)'), body),
    submit, message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      await api.postJson(`/api/products/${slug}/reviews`, { rating: Number(rating.value), body: body.value });
      message.className = 'alert alert-ok';
      message.textContent = 'Thank you, your review is posted.';
      form.replaceWith(message);
      await load();
    } catch (err) {
      message.className = 'alert alert-error';
      message.textContent = err.reason === 'NOT_A_BUYER'
        ? 'Only customers who bought this product can review it.'
        : err.reason === 'ALREADY_REVIEWED' ? 'You have already reviewed this product.'
          : 'Your review could not be posted. Please try again.';
      message.dataset.reason = err.reason || '';
    } finally {
      submit.disabled = false;
      message.setAttribute('tabindex', '-1');
      message.focus();
    }
  });
  section.append(form);
}
