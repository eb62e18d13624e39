"""scripts/kernel_paths.py: old flat kernel paths to the subpackage layout, idempotently."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("kernel_paths", ROOT / "scripts" / "kernel_paths.py")
assert _spec is not None and _spec.loader is not None
kernel_paths = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kernel_paths)

OLD = '''from kernel import hookspecs, __version__
from kernel.plugin import PluginContext, call_each, discover
from kernel.cli import CliError, Command, migration_apps
import kernel.db
log = logging.getLogger("shop.kernel.db")
see kernel/rest.py and kernel/static/graphql.html
[mypy-kernel.hookspecs]
'''
NEW = '''from kernel.host import hookspecs
from kernel import __version__
from kernel.host.plugin import PluginContext
from kernel.host.loader import call_each, discover
from kernel.host.plugin import CliError, Command
from kernel.host.loader import migration_apps
import kernel.storage.db
log = logging.getLogger("shop.kernel.db")
see kernel/web/rest.py and kernel/web/static/graphql.html
[mypy-kernel.host.hookspecs]
'''


def test_old_paths_become_new_ones_and_logger_names_stay():
    assert kernel_paths.rewrite(OLD, "plugins/x/__init__.py") == NEW


def test_rewriting_twice_changes_nothing():
    assert kernel_paths.rewrite(NEW, "plugins/x/__init__.py") == NEW


def test_relative_imports_inside_a_subpackage_reach_the_other_layers():
    old = "from .db import Database\nfrom . import __version__, scaffold\nfrom .cli import main\n"
    new = kernel_paths.rewrite(old, "kernel/commands/cli.py")
    assert new == ("from ..storage.db import Database\nfrom .. import __version__\nfrom . import scaffold\n"
                   "from .cli import main\n")
    assert kernel_paths.rewrite(new, "kernel/commands/cli.py") == new


def test_every_module_of_the_layout_exists_and_the_tree_is_already_rewritten():
    for module, layer in kernel_paths.SUBPACKAGE.items():
        assert (ROOT / "kernel" / layer / f"{module}.py").is_file(), module
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "kernel_paths.py"), "--check", "--all"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
