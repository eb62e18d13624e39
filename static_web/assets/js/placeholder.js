// Generated product pictures: an SVG data: URI (the CSP allows img-src data:)
// whose gradient hue comes from the category, so a category reads as one
// family of colours, with the product's initials on top.

function hash(text) {
  let x = 2166136261;
  for (let i = 0; i < text.length; i += 1) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 16777619);
  }
  return x >>> 0;
}

function xmlEscape(s) {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));
}

function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

const cache = new Map();

export function placeholderImage(categorySlug, name = '', { label = true } = {}) {
  const key = `${categorySlug}|${label ? name : ''}`;
  if (cache.has(key)) return cache.get(key);
  const hue = hash(categorySlug || 'shop') % 360;
  const hue2 = (hue + 40) % 360;
  const shapeHue = (hue + 200) % 360;
  const seed = hash(name || categorySlug || 'x');
  const cx = 60 + (seed % 280);
  const cy = 40 + ((seed >> 8) % 220);
  const text = label
    ? `<text x="200" y="172" font-family="system-ui,sans-serif" font-size="84" font-weight="700" fill="#fff" fill-opacity=".92" text-anchor="middle">${xmlEscape(initials(name))}</text>`
    : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300">`
    + `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">`
    + `<stop offset="0" stop-color="hsl(${hue},70%,58%)"/><stop offset="1" stop-color="hsl(${hue2},72%,42%)"/>`
    + `</linearGradient></defs><rect width="400" height="300" fill="url(#g)"/>`
    + `<circle cx="${cx}" cy="${cy}" r="120" fill="hsl(${shapeHue},80%,85%)" fill-opacity=".18"/>`
    + `<circle cx="${400 - cx}" cy="${300 - cy}" r="70" fill="#fff" fill-opacity=".12"/>${text}</svg>`;
  const uri = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  cache.set(key, uri);
  return uri;
}

// <img> attributes for a product: its main image (the API's first) with a WebP srcset from the
// fixed-width renditions, or the generated placeholder when it has none.
export function productPicture(p, sizes, index = 0) {
  const img = (p.images || [])[index];
  if (!img) return { src: placeholderImage(p.categorySlug, p.name), alt: '' };
  const webp = (img.renditions || []).filter((r) => r.contentType === 'image/webp');
  return {
    src: img.url,
    srcset: webp.length ? webp.map((r) => `${r.url} ${r.width}w`).join(', ') : undefined,
    sizes: webp.length ? sizes : undefined,
    alt: img.alt || '',
  };
}
