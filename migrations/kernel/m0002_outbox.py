"""The kernel's transactional outbox: events and one delivery task per durable subscriber."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "transactional outbox"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "kernel", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS shop_outbox (
            id UUID PRIMARY KEY,
            topic TEXT NOT NULL,
            aggregate TEXT NOT NULL,
            payload JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS shop_outbox_created ON shop_outbox (created_at);
        CREATE TABLE IF NOT EXISTS shop_outbox_task (
            id BIGSERIAL PRIMARY KEY,
            event_id UUID NOT NULL REFERENCES shop_outbox (id) ON DELETE CASCADE,
            handler TEXT NOT NULL,
            aggregate TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
            attempts INT NOT NULL DEFAULT 0,
            run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            done_at TIMESTAMPTZ,
            claimed_by TEXT,
            last_error TEXT,
            UNIQUE (event_id, handler)
        );
        -- The claim: due pending tasks, and "is there an older unfinished task of this aggregate?".
        CREATE INDEX IF NOT EXISTS shop_outbox_task_due ON shop_outbox_task (run_at, id) WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS shop_outbox_task_head ON shop_outbox_task (handler, aggregate, id)
            WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS shop_outbox_task_done ON shop_outbox_task (done_at) WHERE state = 'done';
    """))
