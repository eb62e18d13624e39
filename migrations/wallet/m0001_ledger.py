"""Wallet: accounts, the double-entry ledger, card charges and refunds."""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T12:30:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "wallet ledger and card charges"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "wallet", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS wallet_accounts (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            kind TEXT NOT NULL CONSTRAINT wallet_accounts_kind CHECK (kind IN ('user', 'system')),
            owner TEXT NOT NULL CONSTRAINT wallet_accounts_owner CHECK (length(owner) BETWEEN 1 AND 100),
            currency CHAR(3) NOT NULL CONSTRAINT wallet_accounts_currency CHECK (currency ~ '^[A-Z]{3}$'),
            balance_minor BIGINT NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT wallet_accounts_user_not_negative CHECK (kind <> 'user' OR balance_minor >= 0),
            CONSTRAINT wallet_accounts_one_per_currency UNIQUE (kind, owner, currency),
            -- target of the entries' (account_id, currency) foreign key
            CONSTRAINT wallet_accounts_id_currency UNIQUE (id, currency)
        );

        CREATE TABLE IF NOT EXISTS wallet_transactions (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            kind TEXT NOT NULL CONSTRAINT wallet_transactions_kind
                CHECK (kind IN ('topup', 'transfer', 'payment', 'refund', 'adjustment')),
            currency CHAR(3) NOT NULL,
            reference TEXT NOT NULL DEFAULT '',
            memo TEXT NOT NULL DEFAULT '',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS wallet_transactions_reference ON wallet_transactions (reference)
            WHERE reference <> '';

        CREATE TABLE IF NOT EXISTS wallet_entries (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            seq BIGSERIAL NOT NULL,
            transaction_id UUID NOT NULL REFERENCES wallet_transactions (id),
            account_id UUID NOT NULL,
            kind TEXT NOT NULL,
            amount_minor BIGINT NOT NULL CONSTRAINT wallet_entries_nonzero CHECK (amount_minor <> 0),
            currency CHAR(3) NOT NULL,
            memo TEXT NOT NULL DEFAULT '',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            -- an entry is always in its account's currency
            CONSTRAINT wallet_entries_account FOREIGN KEY (account_id, currency)
                REFERENCES wallet_accounts (id, currency)
        );
        CREATE INDEX IF NOT EXISTS wallet_entries_account_seq ON wallet_entries (account_id, seq DESC);
        CREATE INDEX IF NOT EXISTS wallet_entries_transaction ON wallet_entries (transaction_id);

        -- The database itself refuses a transaction whose entries do not sum to zero per currency.
        -- Checked at the end of each INSERT statement (not deferred to COMMIT, where a failure would
        -- surface late): the entries of one ledger transaction are always inserted in one statement.
        CREATE OR REPLACE FUNCTION wallet_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            bad RECORD;
        BEGIN
            SELECT e.transaction_id, e.currency, sum(e.amount_minor) AS total INTO bad FROM wallet_entries e
                WHERE e.transaction_id IN (SELECT DISTINCT n.transaction_id FROM new_entries n)
                GROUP BY e.transaction_id, e.currency HAVING sum(e.amount_minor) <> 0 LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'ledger transaction % does not balance in % (sum %)',
                    bad.transaction_id, bad.currency, bad.total
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'wallet_entries_balanced';
            END IF;
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS wallet_entries_balanced ON wallet_entries;
        CREATE TRIGGER wallet_entries_balanced AFTER INSERT ON wallet_entries
            REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION wallet_check_balanced();

        -- Entries are append-only: a correction is a new transaction, never an edit.
        CREATE OR REPLACE FUNCTION wallet_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'wallet_entries is append-only; post a correcting transaction instead'
                USING ERRCODE = 'integrity_constraint_violation';
        END $$;
        DROP TRIGGER IF EXISTS wallet_entries_no_change ON wallet_entries;
        CREATE TRIGGER wallet_entries_no_change BEFORE UPDATE OR DELETE ON wallet_entries
            FOR EACH ROW EXECUTE FUNCTION wallet_entries_append_only();

        CREATE TABLE IF NOT EXISTS card_charges (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            provider TEXT NOT NULL,
            provider_ref TEXT NOT NULL DEFAULT '',
            brand TEXT NOT NULL,
            last4 CHAR(4) NOT NULL CONSTRAINT card_charges_last4 CHECK (last4 ~ '^[0-9]{4}$'),
            amount_minor BIGINT NOT NULL CONSTRAINT card_charges_amount CHECK (amount_minor > 0),
            currency CHAR(3) NOT NULL CONSTRAINT card_charges_currency CHECK (currency ~ '^[A-Z]{3}$'),
            status TEXT NOT NULL DEFAULT 'succeeded' CONSTRAINT card_charges_status
                CHECK (status IN ('succeeded', 'partially_refunded', 'refunded')),
            refunded_minor BIGINT NOT NULL DEFAULT 0,
            reference TEXT NOT NULL DEFAULT '',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT card_charges_refund_bounds CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
        );
        CREATE INDEX IF NOT EXISTS card_charges_reference ON card_charges (reference);

        CREATE TABLE IF NOT EXISTS card_refunds (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            charge_id UUID NOT NULL REFERENCES card_charges (id),
            amount_minor BIGINT NOT NULL CONSTRAINT card_refunds_amount CHECK (amount_minor > 0),
            reference TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT card_refunds_once UNIQUE (charge_id, reference)
        );
    """))
