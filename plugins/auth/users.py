"""Users: accounts with argon2id password hashes (hashing runs off the event loop)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.core.status import BusError, Status
from kernel.storage.db import Database

from .contract import User

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not a real password, only here to spend the same time")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024

USER_COLUMNS = "id::text AS id, email, name, roles, created_at, password_hash, disabled_at"


def validate_signup(email: str, password: str, name: str) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if not (3 <= len(email) <= 254) or not EMAIL_RE.match(email):
        errors.append(("email", "must be an email address"))
    if not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
        errors.append(("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"))
    errors += validate_name(name)
    return errors


def validate_name(name: str) -> list[tuple[str, str]]:
    if len(name) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return [("name", "must be at most 200 printable characters")]
    return []


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(hash_: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(hash_, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def to_message(row: Any) -> User:
    return User(id=row["id"], email=row["email"], name=row["name"], roles=tuple(row["roles"]),
                created_at=row["created_at"].isoformat().replace("+00:00", "Z"))


async def create_user(db: Database, email: str, password: str | None, name: str = "",
                      roles: tuple[str, ...] = ()) -> Any:
    email = email.strip()
    errors = validate_signup(email, password if password is not None else "x" * MIN_PASSWORD, name)
    if errors:
        raise BusError(Status.INVALID_ARGUMENT, "; ".join(f"{f} {m}" for f, m in errors), field_errors=errors)
    hashed = await hash_password(password) if password is not None else None
    try:
        return await db.fetchrow(
            f"INSERT INTO auth_user (email, name, password_hash, roles) VALUES ($1, $2, $3, $4) "
            f"RETURNING {USER_COLUMNS}", email, name.strip(), hashed, list(roles))
    except asyncpg.UniqueViolationError:
        raise BusError(Status.ALREADY_EXISTS, "An account with this email already exists.",
                       reason="EMAIL_TAKEN", field_errors=[("email", "is already registered")]) from None


async def set_name(db: Database, user_id: str, name: str) -> Any:
    return await db.fetchrow(f"UPDATE auth_user SET name = $2 WHERE id = $1::uuid RETURNING {USER_COLUMNS}",
                             user_id, name.strip())


async def set_password(db: Database, user_id: str, password: str) -> None:
    await db.execute("UPDATE auth_user SET password_hash = $2 WHERE id = $1::uuid", user_id,
                     await hash_password(password))


async def get_user(db: Database, user_id: str) -> Any:
    try:
        return await db.fetchrow(f"SELECT {USER_COLUMNS} FROM auth_user WHERE id = $1::uuid", user_id)
    except asyncpg.DataError:
        return None  # not a UUID: no such user


async def find_by_email(db: Database, email: str) -> Any:
    return await db.fetchrow(f"SELECT {USER_COLUMNS} FROM auth_user WHERE lower(email) = lower($1)", email.strip())


async def authenticate(db: Database, email: str, password: str) -> Any:
    """The user when the password matches; None otherwise (same work either way)."""
    row = await find_by_email(db, email) if len(email) <= 254 else None
    stored = row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH
    ok = await _verify(stored, password[:MAX_PASSWORD])
    return row if ok and row is not None and row["password_hash"] else None
