"""Storage: PostgreSQL, migrations, the cache, the Redis link, the outbox, embedded services."""
