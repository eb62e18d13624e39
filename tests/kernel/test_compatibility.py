"""A plugin declares the kernel versions it runs on; outside that range it is refused at startup."""

from __future__ import annotations

import types

import pytest

import kernel
from kernel.host.app import create_app
from kernel.host.hookspecs import hookimpl
from kernel.host.loader import check_compatibility, discover
from kernel.host.plugin import PluginError, PluginInfo


def plugin(name: str, compatibility: str | None) -> types.SimpleNamespace:
    @hookimpl
    def shop_plugin() -> PluginInfo:
        return PluginInfo(name=name, version="1.4.0", compatibility=compatibility)

    return types.SimpleNamespace(shop_plugin=shop_plugin)


def info(compatibility: str | None) -> PluginInfo:
    return PluginInfo(name="wishlist", version="1.4.0", compatibility=compatibility)


@pytest.mark.parametrize("spec", [None, ">=0.2,<0.3", "~=0.2.0", "==0.2.*", ">=0.1"])
def test_a_kernel_inside_the_range_loads_the_plugin(spec):
    check_compatibility(info(spec), "0.2.3")


def test_a_release_candidate_counts_as_its_release():
    check_compatibility(info(">=0.2,<0.3"), "0.2.0rc1")
    check_compatibility(info(">=0.2,<0.3"), "0.2.1+local")
    with pytest.raises(PluginError):
        check_compatibility(info(">=0.2,<0.3"), "0.3.0rc1")


@pytest.mark.parametrize("version", ["0.1.9", "0.3.0", "1.0.0"])
def test_a_kernel_outside_the_range_is_refused_naming_plugin_range_and_kernel(version):
    with pytest.raises(PluginError) as err:
        check_compatibility(info(">=0.2,<0.3"), version)
    assert str(err.value).startswith(f"plugin 'wishlist' 1.4.0 supports kernel versions >=0.2,<0.3, "
                                      f"but this kernel is {version}; ")


@pytest.mark.parametrize("spec", ["0.2", "around 0.2", ">=0.2;<0.3", ""])
def test_a_range_that_is_not_a_pep440_specifier_is_refused(spec):
    if spec == "":  # the empty specifier means "any version": allowed, like None
        check_compatibility(info(spec), "0.2.0")
        return
    with pytest.raises(PluginError, match=rf"plugin 'wishlist': compatibility {spec!r} is not a PEP 440"):
        check_compatibility(info(spec), "0.2.0")


def test_startup_refuses_an_incompatible_plugin_with_one_message(settings):
    current = kernel.__version__
    with pytest.raises(PluginError, match=rf"plugin 'future' 1.4.0 supports kernel versions >=99, "
                                          rf"but this kernel is {current}"):
        create_app(settings, [plugin("future", ">=99")])


def test_startup_loads_a_plugin_whose_range_holds_this_kernel(settings):
    major, minor = kernel.__version__.split(".")[:2]
    _pm, loaded = discover(settings, [plugin("current", f">={major}.{minor},<{major}.{int(minor) + 1}")])
    assert [lp.info.compatibility for lp in loaded] == [f">={major}.{minor},<{major}.{int(minor) + 1}"]
