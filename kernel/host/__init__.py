"""The plugin host: hook specifications, plugin loading, the storefront, the aiohttp application."""
