"""PostgreSQL column types Piccolo lacks, so plugin tables can describe their schema exactly.

A plugin's Piccolo table classes must match its migrated tables column for column
(tests/test_tables.py compares them with the live database); these fill the gaps.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column


class Char(Column):
    """``CHAR(n)``: fixed-length text, e.g. an ISO 4217 currency code (``Char(3)``)."""

    value_type = str

    def __init__(self, length: int, default: str | None = "", **kwargs: Any) -> None:
        self._validate_default(default, (str, None))
        self.length = length
        self.default = default
        super().__init__(length=length, default=default, **kwargs)

    @property
    def column_type(self) -> str:
        return f"CHAR({self.length})"


class TSVector(Column):
    """``tsvector``. ``generated=True``: computed by the database (never written)."""

    value_type = str

    def __init__(self, *, generated: bool = False, **kwargs: Any) -> None:
        self.generated = generated
        self.default = None
        super().__init__(default=None, **kwargs)

    @property
    def column_type(self) -> str:
        return "TSVECTOR"
