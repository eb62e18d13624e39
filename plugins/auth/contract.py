"""What other plugins may import from auth: user messages and the Users service."""

from __future__ import annotations

from kernel.messages import Timestamp, Uuid, constraint, message
from kernel.service import Service, rpc


@message
class User:
    id: Uuid
    email: str
    name: str
    roles: tuple[str, ...]
    created_at: Timestamp


@message
class GetMe:
    pass


@message
class GetUser:
    user_id: str = constraint(min_len=1, max_len=64)


@message
class FindUserByEmail:
    email: str = constraint(min_len=3, max_len=254, strip=True)


class Users(Service, package="shop.auth.v1"):
    # GET /api/me, GraphQL me
    get_me = rpc(GetMe, User, user=True)
    # For other plugins (e.g. wallet transfers by email); never exposed over HTTP.
    get_user = rpc(GetUser, User, internal=True)
    find_user_by_email = rpc(FindUserByEmail, User, internal=True)
