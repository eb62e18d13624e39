"""The test provider approves any valid-looking card: production mode refuses to run it unless asked."""

from __future__ import annotations

import pytest

from kernel.engine.config import Settings
from kernel.host.app import create_app
from kernel.host.plugin import PluginError


def production(settings: Settings, **overrides: object) -> Settings:
    return settings.with_(env="production", secret_key="p" * 40, demo=False, **overrides)


def test_production_mode_refuses_the_test_provider_in_one_clear_line(settings: Settings) -> None:
    with pytest.raises(PluginError, match=r"plugin 'testpay': .* production mode refuses it; disable it"):
        create_app(production(settings))


def test_a_deliberate_public_demo_may_run_it(settings: Settings) -> None:
    assert create_app(production(settings, allow_demo_in_production=True)) is not None
    assert create_app(settings) is not None  # development mode: as before
