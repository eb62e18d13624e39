// The admin area's tabs. A tab for a plugin that is switched off is not shown
// (its route is gone too: app.js checks the same manifest).

import { h } from '../dom.js';
import { pluginOn } from '../plugins-ui.js';

const TABS = [
  { key: 'catalog', href: '#/admin', label: 'Catalog', plugin: 'catalog' },
  { key: 'low-stock', href: '#/admin/low-stock', label: 'Low stock', plugin: 'catalog' },
  { key: 'orders', href: '#/admin/orders', label: 'Orders', plugin: 'orders' },
  { key: 'customers', href: '#/admin/customers', label: 'Customers', plugin: 'orders' },
  { key: 'sales', href: '#/admin/sales', label: 'Sales', plugin: 'orders' },
  { key: 'shipping', href: '#/admin/shipping', label: 'Shipping & tax', plugin: 'shipping' },
  { key: 'webhooks', href: '#/admin/webhooks', label: 'Webhooks', plugin: 'webhooks' },
];

export function adminTabs(current) {
  return h('nav', { class: 'admin-tabs', 'aria-label': 'Admin sections', testid: 'admin-tabs' },
    h('ul', null, TABS.filter((t) => pluginOn(t.plugin)).map((t) => h('li', null,
      h('a', { href: t.href, testid: `admin-tab-${t.key}`, 'aria-current': t.key === current ? 'page' : null }, t.label)))));
}

/** The admin page's heading row with the tabs under it. */
export function adminHead(title, current) {
  return [h('div', { class: 'page-head' }, h('h1', null, title)), adminTabs(current)];
}
