"""First-party plugins. Each is registered in setup.cfg under the shop.plugins entry-point group."""
