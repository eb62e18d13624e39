// Admin area (users with the admin role): categories and products, prices and
// stock. The server enforces the admin scope; this page is only shown to admins.

import {
  createCategory, createProduct, deleteImage, getCategories, getProduct, getProducts, setPrice, setStock, setVariantPrice,
  setVariantStock, updateCategory, updateProduct, uploadImage,
} from '../api.js';
import {
  alertRegion, busy, clearAlert, clearFieldErrors, field, h, parseQty, replace, showError, showOk, skeletonLines,
} from '../dom.js';
import { COMMON_CURRENCIES, formatMoney, minorToInput, parseMajor } from '../money.js';
import { session } from '../session.js';
import { adminTabs } from './admin-nav.js';

const PAGE_SIZE = 20;
const SLUG_HINT = 'Lowercase letters, digits and dashes, e.g. "summer-shoes".';

function slugify(text) {
  return text.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100);
}

function values(form, names) {
  return Object.fromEntries(names.map((n) => [n, form.elements[n].value.trim()]));
}

export async function render(main, ctx) {
  ctx.setTitle('Admin');
  const error = alertRegion('admin-error');
  const catSection = h('section', { class: 'panel', 'aria-labelledby': 'admin-cats', testid: 'admin-categories' },
    h('h2', { id: 'admin-cats' }, 'Categories'), skeletonLines(5));
  const prodSection = h('section', { class: 'panel', 'aria-labelledby': 'admin-products', testid: 'admin-products' },
    h('h2', { id: 'admin-products' }, 'Products'), skeletonLines(8));
  const editor = h('section', { class: 'panel', 'aria-labelledby': 'admin-editor', testid: 'admin-editor' });
  replace(main, h('div', { class: 'page-head' }, h('h1', null, 'Shop admin')), adminTabs('catalog'), error,
    h('div', { class: 'admin-grid' }, prodSection, h('div', { class: 'stack' }, editor, catSection)));

  let categories = [];
  let productQuery = { search: '', page: 1 };

  async function loadCategories() {
    try {
      categories = await getCategories();
    } catch (err) {
      if (ctx.alive()) showError(error, err, { session });
      return false;
    }
    return true;
  }

  const categoryOptions = () => categories.map((c) => ({ value: c.id, label: c.name }));

  // ---------------------------------------------------------- categories

  function drawCategories() {
    const createResult = alertRegion('create-category-error');
    const submit = h('button', { type: 'submit', class: 'btn' }, 'Add category');
    const createForm = h('form', { testid: 'create-category-form', novalidate: true },
      h('h3', null, 'New category'),
      h('div', { class: 'form-grid cols-2' },
        field({ label: 'Name', name: 'name', testid: 'category-name', attrs: { required: true, maxlength: 200 } }),
        field({ label: 'Slug', name: 'slug', testid: 'category-slug', hint: SLUG_HINT, attrs: { required: true, maxlength: 100 } })),
      submit, createResult);
    createForm.elements.name.addEventListener('input', () => {
      if (!createForm.elements.slug.dataset.touched) createForm.elements.slug.value = slugify(createForm.elements.name.value);
    });
    createForm.elements.slug.addEventListener('input', () => { createForm.elements.slug.dataset.touched = '1'; });
    createForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(createResult);
      clearFieldErrors(createForm);
      try {
        const cat = await busy(submit, () => createCategory(values(createForm, ['slug', 'name'])));
        await loadCategories();
        if (!ctx.alive()) return;
        drawCategories();
        const note = catSection.querySelector('[data-testid="create-category-error"]');
        showOk(note, `Category “${cat.name}” created.`);
      } catch (err) {
        if (ctx.alive()) showError(createResult, err, { form: createForm, session });
      }
    });

    const rows = categories.map((c) => {
      const result = alertRegion('category-row-error');
      const save = h('button', { type: 'submit', class: 'btn btn-secondary btn-small' }, 'Save');
      const form = h('form', { class: 'inline-form', testid: 'category-row', dataset: { categoryId: c.id }, novalidate: true },
        field({ label: 'Name', name: 'name', value: c.name, attrs: { maxlength: 200 } }),
        field({ label: 'Slug', name: 'slug', value: c.slug, attrs: { maxlength: 100 } }),
        save);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearAlert(result);
        clearFieldErrors(form);
        const v = values(form, ['slug', 'name']);
        try {
          const updated = await busy(save, () => updateCategory({ id: c.id, slug: v.slug, name: v.name }));
          Object.assign(c, updated);
          showOk(result, 'Saved.');
        } catch (err) {
          if (ctx.alive()) showError(result, err, { form, session });
        }
      });
      return h('li', { class: 'cart-line-plain' }, form, result);
    });
    replace(catSection, h('h2', { id: 'admin-cats' }, 'Categories'),
      categories.length ? h('ul', { class: 'cart-lines category-rows', testid: 'category-rows', tabindex: '0', 'aria-label': 'Existing categories' }, rows) : h('p', { class: 'muted' }, 'No categories yet.'),
      createForm);
  }

  // ---------------------------------------------------------- products

  async function drawProducts() {
    const listError = alertRegion('products-error');
    const search = h('form', { class: 'toolbar', role: 'search', testid: 'admin-product-search' },
      field({ label: 'Find products', name: 'q', type: 'search', value: productQuery.search, attrs: { maxlength: 200 } }),
      h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search'));
    search.addEventListener('submit', (e) => {
      e.preventDefault();
      productQuery = { search: search.elements.q.value.trim(), page: 1 };
      drawProducts();
    });
    const newButton = h('button', { type: 'button', class: 'btn', testid: 'new-product' }, 'New product');
    newButton.addEventListener('click', () => drawEditor(null));
    const table = h('div', { class: 'table-wrap', 'aria-busy': 'true', tabindex: '0', role: 'region', 'aria-label': 'Table (scrolls sideways)' }, skeletonLines(8));
    replace(prodSection, h('div', { class: 'page-head' }, h('h2', { id: 'admin-products' }, 'Products'), newButton),
      search, listError, table);
    let res;
    try {
      res = await getProducts({ search: productQuery.search || null, page: productQuery.page, pageSize: PAGE_SIZE, sort: productQuery.search ? 'relevance' : 'name' });
    } catch (err) {
      if (!ctx.alive()) return;
      replace(table);
      showError(listError, err, { session });
      return;
    }
    if (!ctx.alive()) return;
    table.removeAttribute('aria-busy');
    if (!res.items.length) {
      replace(table, h('p', { class: 'notice' }, 'No products found.'));
      return;
    }
    const catName = (id) => (categories.find((c) => c.id === id) || {}).name || '';
    replace(table, h('table', { class: 'admin-list', testid: 'admin-product-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Category'),
        h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Stock'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
      h('tbody', null, res.items.map((p) => {
        const edit = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'edit-product', 'aria-label': `Edit ${p.name}` }, 'Edit');
        edit.addEventListener('click', () => drawEditor(p));
        return h('tr', { testid: 'admin-product-row', dataset: { productId: p.id, slug: p.slug } },
          h('td', null, h('a', { href: `#/p/${encodeURIComponent(p.slug)}` }, p.name)),
          h('td', null, catName(p.categoryId) || p.categorySlug),
          h('td', { class: 'num', dataset: { label: 'Price' } }, formatMoney(p.priceMinor, p.currency)),
          h('td', { class: 'num', dataset: { label: 'Stock' } }, String(p.stockQty)),
          h('td', null, edit));
      }))));
    const pages = Math.max(1, Math.ceil(res.total / res.pageSize));
    if (pages > 1) {
      const prev = h('button', { type: 'button', class: 'btn btn-secondary btn-small', disabled: productQuery.page <= 1 }, '← Previous');
      const next = h('button', { type: 'button', class: 'btn btn-secondary btn-small', disabled: productQuery.page >= pages }, 'Next →');
      prev.addEventListener('click', () => { productQuery.page -= 1; drawProducts(); });
      next.addEventListener('click', () => { productQuery.page += 1; drawProducts(); });
      prodSection.append(h('nav', { class: 'pager', 'aria-label': 'Product pages' }, prev,
        h('span', { class: 'muted' }, `Page ${productQuery.page} of ${pages}`), next));
    }
  }

  // ---------------------------------------------------------- product editor

  /** One variant: its price and stock, saved together (only what changed is sent). */
  function variantRow(v) {
    const label = (v.options || []).map((o) => `${o.name} ${o.value}`).join(', ') || v.sku;
    const result = alertRegion('variant-result');
    const save = h('button', { type: 'submit', class: 'btn btn-secondary btn-small', testid: 'save-variant' }, 'Save');
    const form = h('form', { class: 'variant-row', testid: 'variant-row', dataset: { variantId: v.id }, novalidate: true,
      'aria-label': `Variant ${label}` },
      h('div', { class: 'variant-name' }, h('strong', null, label), h('span', { class: 'muted mono' }, ` ${v.sku}`)),
      field({ label: `Price (${v.currency})`, name: 'price', value: minorToInput(v.priceMinor, v.currency), testid: 'variant-price',
        attrs: { inputmode: 'decimal', maxlength: 20 } }),
      field({ label: 'Stock', name: 'stockQty', type: 'number', value: String(v.stockQty), testid: 'variant-stock',
        attrs: { min: 0, step: 1, inputmode: 'numeric' } }),
      save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(result);
      clearFieldErrors(form);
      const price = parseMajor(form.elements.price.value, v.currency, { allowZero: true });
      const qty = parseQty(form.elements.stockQty.value, { min: 0, max: 1_000_000_000 });
      const problems = [];
      if (!price.ok) problems.push({ field: 'price', message: price.message });
      if (qty === null) problems.push({ field: 'stockQty', message: 'Enter a whole number of 0 or more.' });
      if (problems.length) {
        showError(result, { code: 'INVALID_ARGUMENT', message: 'check the highlighted fields', fieldErrors: problems }, { form });
        return;
      }
      try {
        await busy(save, async () => {
          if (price.minor !== v.priceMinor) Object.assign(v, await setVariantPrice(v.id, price.minor, v.currency));
          if (qty !== v.stockQty) Object.assign(v, await setVariantStock(v.id, qty));
        });
        showOk(result, `Saved: ${formatMoney(v.priceMinor, v.currency)}, ${v.stockQty} in stock.`);
        drawProducts();
      } catch (err) {
        if (ctx.alive()) showError(result, err, { form, session, aliases: { priceMinor: 'price' } });
      }
    });
    return h('li', null, form, result);
  }

  /** The product's pictures (first = main) with delete, and an upload form (multipart, checked here first). */
  function imagesSection(p) {
    const box = h('div', { testid: 'product-images' });
    const draw = () => {
      const result = alertRegion('image-result');
      const list = (p.images || []).length
        ? h('ul', { class: 'image-rows', testid: 'image-rows' }, p.images.map((img, i) => {
          const del = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'delete-image',
            'aria-label': `Delete picture ${i + 1}${img.alt ? `: ${img.alt}` : ''}` }, 'Delete');
          del.addEventListener('click', async () => {
            clearAlert(result);
            try {
              await busy(del, () => deleteImage(img.id));
              await reload();
              showOk(box.querySelector('[data-testid="image-result"]'), 'Picture deleted.');
            } catch (err) {
              if (ctx.alive()) showError(result, err, { session });
            }
          });
          return h('li', { testid: 'image-row', dataset: { imageId: img.id } },
            h('img', { src: img.url, alt: img.alt || '', width: 140, height: 96, loading: 'lazy' }),
            h('div', { class: 'muted' }, `${i === 0 ? 'Main picture · ' : ''}${img.width}×${img.height}`),
            img.alt ? h('div', { class: 'muted' }, img.alt) : h('div', { class: 'muted' }, 'No description'),
            del);
        }))
        : h('p', { class: 'muted', testid: 'no-images' }, 'No pictures yet: the shop shows a generated placeholder.');
      const upload = h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'upload-image' }, 'Upload picture');
      const form = h('form', { testid: 'image-form', novalidate: true },
        field({ label: 'Picture file', name: 'file', type: 'file', testid: 'image-file', hint: 'JPEG, PNG or WebP, at most 10 MB.',
          attrs: { accept: 'image/jpeg,image/png,image/webp', required: true } }),
        field({ label: 'Description (alt text)', name: 'alt', testid: 'image-alt', hint: 'What the picture shows, for people who cannot see it.',
          attrs: { maxlength: 500 } }),
        upload, result);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearAlert(result);
        clearFieldErrors(form);
        const file = form.elements.file.files[0];
        let problem = null;
        if (!file) problem = 'Choose a picture to upload.';
        else if (!['image/jpeg', 'image/png', 'image/webp'].includes(file.type)) problem = 'Choose a JPEG, PNG or WebP picture.';
        else if (file.size > 10 * 1024 * 1024) problem = 'The picture is larger than 10 MB.';
        if (problem) {
          showError(result, { code: 'INVALID_ARGUMENT', message: 'check the picture', fieldErrors: [{ field: 'file', message: problem }] }, { form });
          return;
        }
        try {
          await busy(upload, () => uploadImage(p.id, file, form.elements.alt.value.trim()));
          await reload();
          showOk(box.querySelector('[data-testid="image-result"]'), `Uploaded “${file.name}”.`);
        } catch (err) {
          if (ctx.alive()) showError(result, err, { form, session });
        }
      });
      replace(box, h('h3', null, 'Pictures'), list, form);
    };
    const reload = async () => {
      const fresh = await getProduct(p.slug);
      if (fresh) p.images = fresh.images;
      if (ctx.alive()) draw();
    };
    draw();
    return box;
  }

  function moneyFields(prefix, currency, priceMinor) {
    return [
      field({ label: 'Price', name: 'price', value: priceMinor === undefined ? '' : minorToInput(priceMinor, currency),
        testid: `${prefix}-price`, hint: 'In major units, e.g. 19.99', attrs: { inputmode: 'decimal', required: true, maxlength: 20 } }),
      field({ label: 'Currency', name: 'currency', type: 'select', value: currency,
        options: [...new Set([currency, ...COMMON_CURRENCIES])].map((c) => ({ value: c, label: c })), testid: `${prefix}-currency` }),
    ];
  }

  function drawEditor(p) {
    if (!categories.length) {
      replace(editor, h('h2', { id: 'admin-editor' }, 'New product'), h('p', { class: 'muted' }, 'Create a category first.'));
      editor.scrollIntoView({ block: 'nearest' });
      return;
    }
    const isNew = !p;
    const details = alertRegion('product-form-error');
    const save = h('button', { type: 'submit', class: 'btn', testid: 'save-product' }, isNew ? 'Create product' : 'Save details');
    const form = h('form', { testid: 'product-form', novalidate: true },
      h('div', { class: 'form-grid cols-2' },
        field({ label: 'Name', name: 'name', value: p ? p.name : '', testid: 'product-name-input', attrs: { required: true, maxlength: 200 } }),
        field({ label: 'Slug', name: 'slug', value: p ? p.slug : '', testid: 'product-slug-input', hint: SLUG_HINT, attrs: { required: true, maxlength: 100 } }),
        h('div', { class: 'span-all' }, field({ label: 'Category', name: 'categoryId', type: 'select', value: p ? p.categoryId : categories[0].id, options: categoryOptions(), testid: 'product-category-input' })),
        h('div', { class: 'span-all' }, field({ label: 'Description', name: 'description', type: 'textarea', value: p ? p.description : '', attrs: { maxlength: 5000 } })),
        isNew ? moneyFields('new', 'EUR') : null,
        isNew ? field({ label: 'Stock', name: 'stockQty', type: 'number', value: '0', testid: 'new-stock', attrs: { min: 0, step: 1, inputmode: 'numeric' } }) : null),
      save, details);
    if (isNew) {
      form.elements.name.addEventListener('input', () => {
        if (!form.elements.slug.dataset.touched) form.elements.slug.value = slugify(form.elements.name.value);
      });
      form.elements.slug.addEventListener('input', () => { form.elements.slug.dataset.touched = '1'; });
    }
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearAlert(details);
      clearFieldErrors(form);
      const v = values(form, ['slug', 'name', 'description', 'categoryId']);
      try {
        let saved;
        if (isNew) {
          const currency = form.elements.currency.value;
          const price = parseMajor(form.elements.price.value, currency, { allowZero: true });
          const stock = Number.parseInt(form.elements.stockQty.value, 10);
          const problems = [];
          if (!price.ok) problems.push({ field: 'price', message: price.message });
          if (!Number.isInteger(stock) || stock < 0) problems.push({ field: 'stockQty', message: 'Enter a whole number of 0 or more.' });
          if (problems.length) {
            showError(details, { code: 'INVALID_ARGUMENT', message: 'check the highlighted fields', fieldErrors: problems }, { form });
            return;
          }
          saved = await busy(save, () => createProduct({ ...v, priceMinor: price.minor, currency, stockQty: stock }));
        } else {
          saved = await busy(save, () => updateProduct({ id: p.id, ...v }));
        }
        if (!ctx.alive()) return;
        drawEditor(saved);
        showOk(editor.querySelector('[data-testid="product-form-error"]'), isNew ? `Created “${saved.name}”.` : 'Details saved.');
        drawProducts();
      } catch (err) {
        if (ctx.alive()) showError(details, err, { form, session, aliases: { priceMinor: 'price' } });
      }
    });

    const sections = [h('h2', { id: 'admin-editor' }, isNew ? 'New product' : `Edit “${p.name}”`), form];
    if (!isNew && (p.variants || []).length > 1) {
      // Several variants: price and stock are per variant (the product-level calls answer HAS_VARIANTS).
      sections.push(h('h3', null, 'Variants'), h('ul', { class: 'variant-rows', testid: 'variant-rows' }, p.variants.map(variantRow)));
    } else if (!isNew) {
      // Price and stock have their own forms: each is one admin call with its own result.
      const priceResult = alertRegion('price-form-error');
      const priceSave = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Set price');
      const priceForm = h('form', { class: 'form-grid cols-2', testid: 'price-form', novalidate: true }, moneyFields('edit', p.currency, p.priceMinor), h('div', { class: 'span-all' }, priceSave));
      priceForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearAlert(priceResult);
        clearFieldErrors(priceForm);
        const currency = priceForm.elements.currency.value;
        const price = parseMajor(priceForm.elements.price.value, currency, { allowZero: true });
        if (!price.ok) {
          showError(priceResult, { code: 'INVALID_ARGUMENT', message: 'check the price', fieldErrors: [{ field: 'price', message: price.message }] }, { form: priceForm });
          return;
        }
        try {
          const saved = await busy(priceSave, () => setPrice(p.id, price.minor, currency));
          Object.assign(p, saved);
          showOk(priceResult, `Price set to ${formatMoney(saved.priceMinor, saved.currency)}.`);
          drawProducts();
        } catch (err) {
          if (ctx.alive()) showError(priceResult, err, { form: priceForm, session, aliases: { priceMinor: 'price' } });
        }
      });
      const stockResult = alertRegion('stock-form-error');
      const stockSave = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Set stock');
      const stockForm = h('form', { class: 'inline-form', testid: 'stock-form', novalidate: true },
        field({ label: 'Stock on hand', name: 'stockQty', type: 'number', value: String(p.stockQty), testid: 'edit-stock', attrs: { min: 0, step: 1, inputmode: 'numeric' } }),
        stockSave);
      stockForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearAlert(stockResult);
        clearFieldErrors(stockForm);
        const qty = Number.parseInt(stockForm.elements.stockQty.value, 10);
        if (!Number.isInteger(qty) || qty < 0) {
          showError(stockResult, { code: 'INVALID_ARGUMENT', message: 'check the stock', fieldErrors: [{ field: 'stockQty', message: 'Enter a whole number of 0 or more.' }] }, { form: stockForm });
          return;
        }
        try {
          const saved = await busy(stockSave, () => setStock(p.id, qty));
          Object.assign(p, saved);
          showOk(stockResult, `Stock set to ${saved.stockQty}.`);
          drawProducts();
        } catch (err) {
          if (ctx.alive()) showError(stockResult, err, { form: stockForm, session });
        }
      });
      sections.push(h('h3', null, 'Price'), priceForm, priceResult, h('h3', null, 'Stock'), stockForm, stockResult);
    }
    if (!isNew) sections.push(imagesSection(p));
    const close = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, 'Close');
    close.addEventListener('click', () => replace(editor));
    sections.push(h('div', { class: 'row' }, close));
    replace(editor, ...sections);
    editor.scrollIntoView({ block: 'nearest' });
    editor.querySelector('input').focus({ preventScroll: true });
  }

  if (!(await loadCategories())) {
    replace(catSection, h('h2', { id: 'admin-cats' }, 'Categories'));
    replace(prodSection, h('h2', { id: 'admin-products' }, 'Products'));
    return;
  }
  if (!ctx.alive()) return;
  drawCategories();
  await drawProducts();
}
