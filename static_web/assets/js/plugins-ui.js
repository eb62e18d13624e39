// Which plugins are on, and the UI modules they contribute (GET /api/storefront/manifest).
// A module is a same-origin ES module exporting `mount(slotElement, ctx)`; it is
// imported only when its slot is on screen. Slots: docs/storefront.md.

import { h } from './dom.js';
import { session } from './session.js';

let manifest = null; // null: unknown (an older server): every built-in page stays on

export async function loadManifest() {
  try {
    const res = await fetch('/api/storefront/manifest', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.ok) manifest = await res.json();
  } catch {
    manifest = null;
  }
  return manifest;
}

/** Is the plugin named `name` on? Unknown (no manifest) counts as on. */
export function pluginOn(name) {
  return !manifest || !Array.isArray(manifest.plugins) || manifest.plugins.includes(name);
}

/** Is the shop in demo mode (test cards, free top-ups)? Unknown counts as no. */
export function demoMode() {
  return Boolean(manifest && manifest.demo === true);
}

async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.detail || 'request failed'), { code: body.code, reason: body.reason, status: res.status });
  return body;
}

async function postJson(path, data) {
  const res = await fetch(path, {
    method: 'POST', credentials: 'same-origin', body: JSON.stringify(data),
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken || '' },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.detail || 'request failed'), { code: body.code, reason: body.reason, status: res.status });
  return body;
}

/**
 * Mount every module declared for `slot` into `el` (a container the view placed),
 * with `ctx` plus the shared helpers. A failing module is logged and skipped: a
 * plugin's UI never breaks the page around it.
 */
export async function mountSlot(slot, el, ctx = {}) {
  const modules = (manifest && manifest.modules ? manifest.modules : []).filter((m) => m.slot === slot);
  el.dataset.slot = slot;
  await Promise.all(modules.map(async (m) => {
    if (typeof m.src !== 'string' || !m.src.startsWith('/plugin-ui/')) return;
    const box = h('div', { class: 'plugin-slot', dataset: { plugin: m.plugin } });
    el.append(box);
    try {
      const mod = await import(m.src);
      await mod.mount(box, { ...ctx, h, session, api: { getJson, postJson } });
    } catch (err) {
      console.warn(`plugin ${m.plugin}: ${slot} module failed`, err);
      box.remove();
    }
  }));
}
