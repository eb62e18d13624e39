"""Where the shop's data folders are: ``migrations/`` and ``static_web/``.

In the source tree they sit at the top level, next to ``kernel/``. The wheel ships
them inside the kernel package, under ``kernel/_bundled/`` (setup.py maps the
folders there), so an installed shop finds them from any working directory and
without ``SHOP_HOME``. ``SHOP_HOME`` still wins when it is set: an operator may
point the shop at a folder holding their own copy of either.
"""

from __future__ import annotations

from pathlib import Path

FOLDERS = ("migrations", "static_web")
_KERNEL = Path(__file__).resolve().parent.parent  # kernel/, above kernel/core/
BUNDLED = _KERNEL / "_bundled"  # the installed wheel's copy
SOURCE = _KERNEL.parent  # a source checkout or an editable install


def data_folder(name: str, home: Path | None = None) -> Path:
    """The folder ``name`` (one of :data:`FOLDERS`): ``home/name`` when ``home`` is given
    (``SHOP_HOME``), else the copy shipped in the wheel, else the source tree's.

    The result may not exist (a checkout without the folder); callers decide whether
    that is an error.
    """
    if name not in FOLDERS:
        raise ValueError(f"unknown data folder {name!r}")
    if home is not None:
        return (home / name).resolve()
    packaged = BUNDLED / name
    if packaged.is_dir():
        return packaged
    return SOURCE / name
