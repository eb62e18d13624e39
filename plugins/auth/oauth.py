"""HTTP endpoints of the authorization server (RFC 6749, 7636, 7009, 7662, 8414, OIDC Discovery)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import orjson
from aiohttp import web
from multidict import MultiDictProxy

from kernel.core.status import BusError
from kernel.engine.ratelimit import RateLimiter, RateLimitUnavailable
from kernel.web.rest import CTX_KEY

from . import pages, users
from . import scopes as sc
from .authority import Authority, Client, InvalidToken, OAuthError
from .hygiene import first_invalid
from .throttle import FailureThrottle

log = logging.getLogger("shop.plugins.auth")

TEMPLATES = Path(__file__).parent / "templates"
AUTHZ_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                "code_challenge_method", "nonce", "prompt")
FORM_TOKEN_TTL = 1800
CONSENT_TTL = 600  # seconds between signing in and answering the consent screen
_MAX_PARAM = 2000


@dataclass(frozen=True)
class AuthzRequest:
    client: Client
    redirect_uri: str
    scope: list[str]
    state: str | None
    code_challenge: str | None
    nonce: str | None
    params: dict[str, str]  # what the forms carry back in hidden inputs


class Redirect(Exception):
    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response


def client_address(request: web.Request) -> str:
    """The address the kernel resolved for this request (trusted proxies honoured), else the peer."""
    ctx = request.get(CTX_KEY)
    return (getattr(ctx, "client_ip", None) or request.remote or "unknown")[:100]


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form; raw bytes that are not UTF-8 are a bad request, not a 500."""
    try:
        return await request.post()
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput("The form is not valid UTF-8 form data.") from exc


class BadInput(Exception):
    """A parameter or field that is not clean text (NUL, controls, invalid UTF-8)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_text(values: Any) -> None:
    message = first_invalid((k, v) for k, v in values.items() if isinstance(v, str))
    if message is not None:
        raise BadInput(message)


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    h = {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=h)


def oauth_error(exc: OAuthError, *, basic: bool = False) -> web.Response:
    headers = {"WWW-Authenticate": 'Basic realm="shop"'} if exc.status == 401 and basic else {}
    return _json({"error": exc.error, "error_description": exc.description}, exc.status, headers)


def with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _single(values: MultiDictProxy[Any], names: tuple[str, ...] | None = None) -> tuple[dict[str, str], str | None]:
    """Parameters as a dict; the name of one sent twice (RFC 6749 §3.1 forbids that)."""
    out: dict[str, str] = {}
    dup = None
    for k, v in values.items():
        if names is not None and k not in names:
            continue
        if not isinstance(v, str):
            continue
        if k in out:
            dup = k
        out[k] = v
    return out, dup


class OAuthEndpoints:
    def __init__(self, authority: Authority, limiter: RateLimiter, signin: FailureThrottle,
                 signup: FailureThrottle, token: FailureThrottle) -> None:
        self.a = authority
        self.limiter = limiter
        self.signin_failures = signin
        self.signup_failures = signup
        self.token_failures = token

    # ------------------------------------------------------------------ discovery

    async def discovery(self, request: web.Request) -> web.Response:
        iss = self.a.issuer
        doc = {
            "issuer": iss,
            "authorization_endpoint": f"{iss}/oauth/authorize",
            "token_endpoint": f"{iss}/oauth/token",
            "jwks_uri": f"{iss}/oauth/jwks",
            "userinfo_endpoint": f"{iss}/oauth/userinfo",
            "revocation_endpoint": f"{iss}/oauth/revoke",
            "introspection_endpoint": f"{iss}/oauth/introspect",
            "scopes_supported": list(self.a.scopes.names()),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.a.config.algorithm],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "email",
                                 "email_verified", "name"],
            "prompt_values_supported": ["login", "create", "none"],
            "authorization_response_iss_parameter_supported": True,
        }
        return web.Response(body=orjson.dumps(doc), content_type="application/json",
                            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})

    async def jwks(self, request: web.Request) -> web.Response:
        await self.a.keys.signing_key()  # refreshes the set now and then (rotation by another process)
        return web.Response(body=orjson.dumps(self.a.keys.jwks()), content_type="application/jwk-set+json",
                            headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"})

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(TEMPLATES / "auth.css", headers={"Cache-Control": "public, max-age=3600"})

    # ------------------------------------------------------------------ authorize

    def form_token(self, params: dict[str, str], ts: int | None = None) -> str:
        """A stateless CSRF token for the form: bound to this authorization request, expiring."""
        ts = int(time.time()) if ts is None else ts
        msg = "\x1f".join([str(ts)] + [params.get(k, "") for k in AUTHZ_PARAMS if k != "prompt"]).encode()
        sig = base64.urlsafe_b64encode(hmac.new(self.a.form_key, msg, hashlib.sha256).digest()).rstrip(b"=")
        return f"{ts}.{sig.decode()}"

    def form_token_ok(self, token: str, params: dict[str, str]) -> bool:
        ts_s, _, _ = token.partition(".")
        if not ts_s.isdigit() or not 0 <= time.time() - int(ts_s) <= FORM_TOKEN_TTL:
            return False
        return hmac.compare_digest(token.encode(), self.form_token(params, int(ts_s)).encode())

    async def _validate(self, values: Any) -> AuthzRequest:
        params, dup = _single(values, AUTHZ_PARAMS)
        if any(len(v) > _MAX_PARAM for v in params.values()):
            raise Redirect(pages.error_page("A parameter of this request is too long."))
        client = await self.a.get_client(params.get("client_id", ""))
        if client is None or dup == "client_id":
            raise Redirect(pages.error_page("The application that sent you here is not known to the shop."))
        redirect_uri = params.get("redirect_uri")
        if dup == "redirect_uri":
            raise Redirect(pages.error_page("redirect_uri was sent more than once."))
        if redirect_uri is None and len(client.redirect_uris) == 1:
            redirect_uri = client.redirect_uris[0]
        # Exact string match against the registered URIs (RFC 9700 §4.1.1).
        if redirect_uri is None or redirect_uri not in client.redirect_uris:
            raise Redirect(pages.error_page("The redirect_uri is not registered for this application."))
        state = params.get("state")
        params["redirect_uri"] = redirect_uri

        def fail(error: str, description: str) -> Redirect:
            uri = with_query(redirect_uri, {"error": error, "error_description": description, "state": state,
                                            "iss": self.a.issuer})
            return Redirect(web.HTTPSeeOther(uri))

        if dup is not None:
            raise fail("invalid_request", f"{dup} was sent more than once")
        rt = params.get("response_type")
        if rt is None:
            raise fail("invalid_request", "response_type is required")
        if rt != "code":
            raise fail("unsupported_response_type", "only response_type=code is supported")
        requested = sc.parse(params.get("scope"), self.a.scopes, client.scopes)
        if requested is None:
            raise fail("invalid_scope", "unknown scope")
        if not requested:
            default = sc.user_default(self.a.scopes)
            requested = [s for s in client.scopes if s in default]
        if not set(requested) <= set(client.scopes):
            raise fail("invalid_scope", "this application may not ask for that scope")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is None:
            if not client.confidential:
                raise fail("invalid_request", "code_challenge (PKCE, S256) is required")
            if method is not None:
                raise fail("invalid_request", "code_challenge_method without code_challenge")
        else:
            if method != "S256":
                raise fail("invalid_request", "code_challenge_method must be S256 (plain is not supported)")
            if len(challenge) != 43 or not all(c.isalnum() or c in "-_" for c in challenge):
                raise fail("invalid_request", "code_challenge must be a base64url SHA-256 digest")
        if params.get("prompt") == "none":
            raise fail("login_required", "the user must sign in")
        if len(params.get("nonce", "")) > 255 or len(state or "") > 1000:
            raise fail("invalid_request", "state or nonce is too long")
        return AuthzRequest(client, redirect_uri, requested, state, challenge, params.get("nonce"), params)

    async def authorize_get(self, request: web.Request) -> web.StreamResponse:
        try:
            check_text(request.query)
            req = await self._validate(request.query)
        except BadInput as exc:
            return pages.invalid_input(exc.message)
        except Redirect as r:
            return r.response
        carried = {k: v for k, v in req.params.items() if k != "prompt"}
        token = self.form_token(carried)
        if req.params.get("prompt") == "create":
            return pages.sign_up(req.params, req.client.name, token)
        return pages.sign_in(carried, req.client.name, token)

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not sent by every browser on same-origin posts; the form token still applies
        own = {self.a.issuer, f"{request.scheme}://{request.host}"}
        return origin in own

    async def authorize_post(self, request: web.Request) -> web.StreamResponse:
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return pages.error_page("Send the sign-in form as a form post.", 415)
        try:
            form = await read_form(request)
            check_text({k: v for k, v in form.items() if k in AUTHZ_PARAMS})
            req = await self._validate(form)
        except BadInput as exc:
            return pages.invalid_input(exc.message)
        except Redirect as r:
            return r.response
        fields, _ = _single(form, ("email", "password", "name", "csrf", "action", "user", "ticket", "decision"))
        action = fields.get("action", "signin")
        bad_field = first_invalid(fields.items())
        if bad_field is not None:
            fields = {k: v for k, v in fields.items() if k in ("action", "csrf") and first_invalid([(k, v)]) is None}
        email = fields.get("email", "").strip()[:254]
        password = fields.get("password", "")
        name = fields.get("name", "").strip()
        carried = {k: v for k, v in req.params.items() if k != "prompt"}
        token = self.form_token(carried)

        def again(error: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
            if action == "signup":
                resp = pages.sign_up({**carried, "prompt": "create"}, req.client.name, token, email=email, name=name,
                                     error=error, status=status)
            else:
                resp = pages.sign_in(carried, req.client.name, token, email=email, error=error, status=status)
            resp.headers.update(headers or {})
            return resp

        if bad_field is not None:
            return again(bad_field, 400)
        if not self._same_origin(request) or not self.form_token_ok(fields.get("csrf", ""), carried):
            return again("This form has expired or did not come from the shop. Please try again.", 403)
        if action not in ("signin", "signup", "consent"):
            return again("Unknown action.", 400)
        if action == "consent":
            return await self._consent_answer(req, fields, carried, again)
        ip = client_address(request)
        # Every attempt counts against the address; failures also count per (account, address)
        # and, with a much higher ceiling, per account (see throttle.py: no lockout).
        throttle = self.signin_failures if action == "signin" else self.signup_failures
        wait = await self._throttle("login" if action == "signin" else "signup", f"ip:{ip}")
        wait = wait or await throttle.wait(email, ip)
        if wait:
            return again(f"Too many attempts. Try again in {wait} seconds.", 429, {"Retry-After": str(wait)})
        if action == "signup":
            errors = users.validate_signup(email, password, name)
            if errors:
                await throttle.failed(email, ip)
                return again("; ".join(f"{f.capitalize()} {m}." for f, m in errors), 400)
            try:
                user = await users.create_user(self.a.db, email, password, name)
            except BusError as exc:
                await throttle.failed(email, ip)
                return again(exc.public_message, 409 if exc.reason == "EMAIL_TAKEN" else 400)
            log.info("user_signed_up", extra={"user_id": user["id"]})
        else:
            user = await users.authenticate(self.a.db, email, password)
            if user is None:
                await throttle.failed(email, ip)
                # One answer for unknown email and wrong password.
                return again("The email or password is not right.", 401)
            if user["disabled_at"] is not None:
                return again("This account is disabled. Contact the shop.", 403)
            log.info("user_signed_in", extra={"user_id": user["id"]})
        await throttle.succeeded(email, ip)
        granted = sc.for_user(req.scope, user["roles"], self.a.scopes)
        if not req.client.first_party and not set(granted) <= await self.a.granted_to(user["id"],
                                                                                    req.client.client_id):
            # A third-party application: the user says yes to these scopes, in words, once.
            ticket = self.consent_ticket(carried, user["id"])
            described = [(s, (d.description if (d := self.a.scopes.get(s)) else s)) for s in granted]
            return pages.consent(carried, req.client.name, token, ticket, user["id"], described,
                                 user_email=user["email"])
        return await self._code_redirect(req, user["id"], granted)

    async def _code_redirect(self, req: AuthzRequest, user_id: str, granted: list[str]) -> web.StreamResponse:
        code = await self.a.issue_code(req.client, user_id, req.redirect_uri, granted, req.code_challenge,
                                       req.nonce)
        target = with_query(req.redirect_uri, {"code": code, "state": req.state, "iss": self.a.issuer})
        resp = web.HTTPSeeOther(target)
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Security-Policy"] = pages.csp(req.redirect_uri)
        return resp

    def consent_ticket(self, params: dict[str, str], user_id: str, ts: int | None = None) -> str:
        """Proof that ``user_id`` signed in for this very authorization request, a short while ago."""
        ts = int(time.time()) if ts is None else ts
        msg = "\x1f".join(["consent", str(ts), user_id] + [params.get(k, "") for k in AUTHZ_PARAMS
                                                            if k != "prompt"]).encode()
        sig = base64.urlsafe_b64encode(hmac.new(self.a.form_key, msg, hashlib.sha256).digest()).rstrip(b"=")
        return f"{ts}.{sig.decode()}"

    async def _consent_answer(self, req: AuthzRequest, fields: dict[str, str], carried: dict[str, str],
                              again: Callable[..., web.Response]) -> web.StreamResponse:
        user_id, ticket = fields.get("user", ""), fields.get("ticket", "")
        ts_s, _, _ = ticket.partition(".")
        fresh = ts_s.isdigit() and 0 <= time.time() - int(ts_s) <= CONSENT_TTL
        if not fresh or not hmac.compare_digest(ticket.encode(),
                                                self.consent_ticket(carried, user_id, int(ts_s)).encode()):
            return again("This permission request has expired. Please sign in again.", 403)
        decision = fields.get("decision")
        if decision == "deny":
            uri = with_query(req.redirect_uri, {"error": "access_denied", "error_description":
                                                 "the user did not allow access", "state": req.state,
                                                 "iss": self.a.issuer})
            return web.HTTPSeeOther(uri, headers={"Cache-Control": "no-store"})
        if decision != "allow":
            return again("Answer with Allow or Deny.", 400)
        user = await self.a._user(user_id)
        if user is None:
            return again("This account is not available.", 403)
        granted = sc.for_user(req.scope, user["roles"], self.a.scopes)
        await self.a.remember_grant(user_id, req.client.client_id, granted)
        log.info("consent_granted", extra={"user_id": user_id, "client_id": req.client.client_id})
        return await self._code_redirect(req, user_id, granted)

    async def _throttle(self, cls: str, identity: str) -> int:
        try:
            state = await self.limiter.hit(cls, identity)
        except RateLimitUnavailable:
            return 2
        if state is not None and state.retry_after > 0:
            return max(1, round(state.retry_after + 0.5))
        return 0

    # ---------------------------------------------------------------- token etc.

    async def _client_from(self, request: web.Request, form: dict[str, str], *, confidential_only: bool = False,
                           ) -> Client:
        auth = request.headers.get("Authorization", "")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if auth.lower().startswith("basic "):
            if secret is not None:
                raise OAuthError("invalid_request", "Use one client authentication method, not two.")
            try:
                raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
                basic_id, _, basic_secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "Malformed Basic credentials.", 401) from None
            basic_id, secret = unquote_plus(basic_id), unquote_plus(basic_secret)  # RFC 6749 §2.3.1
            bad = first_invalid([("client_id", basic_id), ("client_secret", secret)])
            if bad is not None:
                raise OAuthError("invalid_request", bad)
            if client_id is not None and client_id != basic_id:
                raise OAuthError("invalid_client", "client_id does not match the credentials.", 401)
            client_id = basic_id
        if not client_id:
            raise OAuthError("invalid_client", "Client authentication is required.", 401)
        client = await self.a.authenticate_client(client_id, secret)
        if confidential_only and not client.confidential:
            raise OAuthError("invalid_client", "Only confidential clients may use this endpoint.", 401)
        return client

    async def _form(self, request: web.Request) -> dict[str, str]:
        if request.content_type != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "Send application/x-www-form-urlencoded parameters.")
        try:
            posted = await read_form(request)
            check_text(posted)
        except BadInput as exc:
            raise OAuthError("invalid_request", exc.message) from None
        form, dup = _single(posted)
        if dup is not None:
            raise OAuthError("invalid_request", f"{dup} was sent more than once.")
        if any(len(v) > 4096 for v in form.values()):
            raise OAuthError("invalid_request", "A parameter is too long.")
        return form

    async def token(self, request: web.Request) -> web.Response:
        basic = request.headers.get("Authorization", "").lower().startswith("basic ")
        ip = client_address(request)
        account = ""
        try:
            wait = await self._throttle("token", f"ip:{ip}")
            if wait:
                return _json({"error": "temporarily_unavailable", "error_description": "Too many requests."},
                             429, {"Retry-After": str(wait)})
            form = await self._form(request)
            account = self._claimed_client(request, form)
            wait = await self.token_failures.wait(account, ip)
            if wait:
                return _json({"error": "temporarily_unavailable",
                              "error_description": f"Too many failed attempts; try again in {wait} seconds."},
                             429, {"Retry-After": str(wait)})
            client = await self._client_from(request, form)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                if not form.get("code"):
                    raise OAuthError("invalid_request", "code is required.")
                body = await self.a.exchange_code(client, form["code"], form.get("redirect_uri"),
                                                  form.get("code_verifier"))
            elif grant == "refresh_token":
                if not form.get("refresh_token"):
                    raise OAuthError("invalid_request", "refresh_token is required.")
                body = await self.a.refresh(client, form["refresh_token"], form.get("scope"))
            elif grant == "client_credentials":
                body = await self.a.client_credentials(client, form.get("scope"))
            elif grant is None:
                raise OAuthError("invalid_request", "grant_type is required.")
            else:
                raise OAuthError("unsupported_grant_type", f"grant_type {grant[:40]!r} is not supported.")
        except OAuthError as exc:
            if exc.error in ("invalid_client", "invalid_grant"):  # guessing credentials, codes or tokens
                await self.token_failures.failed(account, ip)
            return oauth_error(exc, basic=basic)
        await self.token_failures.succeeded(account, ip)
        return _json(body)

    @staticmethod
    def _claimed_client(request: web.Request, form: dict[str, str]) -> str:
        """The client the request says it is (before checking): the "account" the token endpoint throttles."""
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                return unquote_plus(base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")[0])
            except (ValueError, UnicodeDecodeError):
                return ""
        return form.get("client_id", "")

    async def revoke(self, request: web.Request) -> web.Response:
        basic = request.headers.get("Authorization", "").lower().startswith("basic ")
        try:
            form = await self._form(request)
            client = await self._client_from(request, form)
            if not form.get("token"):
                raise OAuthError("invalid_request", "token is required.")
            await self.a.revoke(client, form["token"], form.get("token_type_hint"))
        except OAuthError as exc:
            return oauth_error(exc, basic=basic)
        return web.Response(status=200, headers={"Cache-Control": "no-store"})

    async def introspect(self, request: web.Request) -> web.Response:
        basic = request.headers.get("Authorization", "").lower().startswith("basic ")
        try:
            form = await self._form(request)
            caller = await self._client_from(request, form, confidential_only=True)
            if not form.get("token"):
                raise OAuthError("invalid_request", "token is required.")
            return _json(await self.a.introspect(caller, form["token"], form.get("token_type_hint")))
        except OAuthError as exc:
            return oauth_error(exc, basic=basic)

    async def userinfo(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            return _json({"error": "invalid_request", "error_description": "Send a Bearer token."}, 401,
                         {"WWW-Authenticate": 'Bearer realm="shop"'})
        try:
            claims = await self.a.verify_access_token(auth[7:].strip())
        except InvalidToken:
            return _json({"error": "invalid_token", "error_description": "The access token is not valid."}, 401,
                         {"WWW-Authenticate": 'Bearer realm="shop", error="invalid_token"'})
        granted = str(claims.get("scope", "")).split()
        if "openid" not in granted:
            return _json({"error": "insufficient_scope", "error_description": "The openid scope is required."},
                         403, {"WWW-Authenticate": 'Bearer realm="shop", error="insufficient_scope", scope="openid"'})
        user = await users.get_user(self.a.db, str(claims["sub"]))
        if user is None:
            return _json({"error": "invalid_token", "error_description": "No such user."}, 401,
                         {"WWW-Authenticate": 'Bearer realm="shop", error="invalid_token"'})
        out: dict[str, Any] = {"sub": user["id"]}
        if "email" in granted:
            out.update(email=user["email"], email_verified=False)
        if "profile" in granted:
            out["name"] = user["name"]
        return _json(out)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/.well-known/openid-configuration", self.discovery),
            web.get("/.well-known/oauth-authorization-server", self.discovery),
            web.get("/oauth/jwks", self.jwks),
            web.get("/oauth/assets/auth.css", self.stylesheet),
            web.get("/oauth/authorize", self.authorize_get),
            web.post("/oauth/authorize", self.authorize_post),
            web.post("/oauth/token", self.token),
            web.post("/oauth/revoke", self.revoke),
            web.post("/oauth/introspect", self.introspect),
            web.get("/oauth/userinfo", self.userinfo),
            web.post("/oauth/userinfo", self.userinfo),
        ]
