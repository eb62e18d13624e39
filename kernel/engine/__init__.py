"""The bus and what runs it: rate limits, configuration, the runtime."""
