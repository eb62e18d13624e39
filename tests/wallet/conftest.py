"""Fixtures for the wallet tests: an app with wallet, canned users and the test identity header."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

import plugins.payments as payments_plugin
import plugins.testpay as testpay_plugin
import plugins.wallet as wallet_plugin
from kernel.core.context import CallContext
from tests.support import fake_identity
from tests.support.fake_identity import principal_header, user_principal
from tests.wallet import fake_users

PLUGINS = [wallet_plugin, payments_plugin, testpay_plugin, fake_users, fake_identity]
# Generous limits: these tests make many money calls from one address on purpose.
RATE_LIMITS = {"read": (100_000, 60.0), "write": (100_000, 60.0), "money": (100_000, 60.0)}


@pytest.fixture
def wallet_client(make_client: Callable[..., Any]) -> Callable[..., Any]:
    async def make(**overrides: Any) -> Any:
        overrides.setdefault("rate_limits", RATE_LIMITS)
        return await make_client(plugins=PLUGINS, **overrides)

    return make


def new_user() -> str:
    """A fresh user id (the database is shared by the whole test session)."""
    return f"u{uuid.uuid4().hex[:12]}"


def email(user_id: str) -> str:
    return f"{user_id}@{fake_users.DOMAIN}"


def headers(user_id: str, **extra: str) -> dict[str, str]:
    return {**principal_header(user_id), **extra}


def ctx_for(user_id: str) -> CallContext:
    return CallContext(principal=user_principal(user_id))
