"""The package list: the one part of the build setup.cfg cannot express.

The top-level ``migrations/`` and ``static_web/`` folders belong to the product: an
installed shop must find them from any directory, without ``SHOP_HOME``. They are
mapped into the wheel as ``kernel/_bundled/migrations`` and
``kernel/_bundled/static_web`` (setup.cfg cannot combine ``packages = find:`` with
packages mapped from other folders); their files are package data (setup.cfg).
At run time ``kernel.core.resources`` looks there first, then in the source tree
(editable installs and checkouts). Every folder is listed as a (namespace)
package, data folders too, so that setuptools ships it instead of warning that it
would be ignored.
"""

from setuptools import find_namespace_packages, setup

BUNDLED = {
    "kernel._bundled.migrations": "migrations",
    "kernel._bundled.static_web": "static_web",
}
NOT_PACKAGES = ["*__pycache__", "*__pycache__.*"]


def folder_packages(package: str, folder: str) -> list[str]:
    """``package`` and one dotted name per sub-folder of ``folder``."""
    return [package, *(f"{package}.{sub}" for sub in find_namespace_packages(where=folder, exclude=NOT_PACKAGES))]


code = find_namespace_packages(include=["kernel", "kernel.*", "plugins", "plugins.*"], exclude=NOT_PACKAGES)
setup(
    packages=[*code, *(p for package, folder in BUNDLED.items() for p in folder_packages(package, folder))],
    package_dir=BUNDLED,
)
