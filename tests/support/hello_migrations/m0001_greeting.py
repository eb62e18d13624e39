from kernel.storage.migrate import manager, sql

ID = "2026-11-26T12:00:00:000100"
VERSION = "1.38.0"
DESCRIPTION = "greetings"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "hello", DESCRIPTION, sql(
        "CREATE TABLE IF NOT EXISTS hello_greeting (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE, "
        "count INTEGER NOT NULL DEFAULT 0)"))
