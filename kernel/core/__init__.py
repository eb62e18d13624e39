"""Domain-free building blocks: messages, services, statuses, call context, scopes, events."""
