"""Server-rendered HTML for the authorize endpoint: sign-in, sign-up, errors, sign-out.

Plain forms that work without JavaScript; no inline scripts or styles (the CSP
allows only the plugin's stylesheet). ``form-action`` names our own origin and the
validated redirect_uri's origin, because browsers apply it to the redirect that
follows the form post.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit

from aiohttp import web

STYLESHEET = "/oauth/assets/auth.css"
# The storefront's stylesheet and logo (kernel static_web): the sign-in pages wear the shop's header and
# look, so shoppers see they are still in the shop. Without a storefront they fall back to auth.css alone.
SHOP_STYLESHEET = "/assets/css/shop.css"
SHOP_HEADER = ('<a class="skip-link" href="#main">Skip to content</a>'
               '<header class="site-header" data-testid="site-header"><div class="container header-row">'
               '<a class="brand" href="/#/" data-testid="brand">'
               '<img src="/assets/img/favicon.svg" alt="" width="28" height="28"><span>Shop</span></a>'
               '<a class="back-to-shop" href="/#/">Back to the shop</a></div></header>')


def csp(redirect_uri: str | None = None) -> str:
    targets = ["'self'"]
    if redirect_uri:
        p = urlsplit(redirect_uri)
        if p.scheme in ("http", "https") and p.netloc:
            targets.append(f"{p.scheme}://{p.netloc}")
    return ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action {' '.join(targets)}")


def _page(title: str, body: str, *, status: int = 200, redirect_uri: str | None = None) -> web.Response:
    html = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} · Shop</title><link rel="icon" href="/assets/img/favicon.svg" type="image/svg+xml">'
            f'<link rel="stylesheet" href="{SHOP_STYLESHEET}"><link rel="stylesheet" href="{STYLESHEET}"></head>'
            f'<body class="auth-page">{SHOP_HEADER}<main id="main" class="container main">'
            f'<div class="panel auth-card">{body}</div></main></body></html>')
    resp = web.Response(text=html, status=status, content_type="text/html")
    resp.headers["Content-Security-Policy"] = csp(redirect_uri)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


def _hidden(params: dict[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items() if v)


def _error(message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def sign_in(params: dict[str, str], client_name: str, csrf: str, *, email: str = "", error: str | None = None,
            status: int = 200) -> web.Response:
    signup_link = "/oauth/authorize?" + urlencode({**params, "prompt": "create"})
    body = (f"<h1>Sign in</h1><p class=\"client\">to continue to {escape(client_name)}</p>{_error(error)}"
            f'<form method="post" action="/oauth/authorize">{_hidden(params)}'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}"><input type="hidden" name="action" value="signin">'
            f'<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" '
            f'required maxlength="254" value="{escape(email)}">'
            f'<label for="password">Password</label><input id="password" name="password" type="password" '
            f'autocomplete="current-password" required maxlength="1024">'
            f'<button type="submit">Sign in</button></form>'
            f'<p class="alt"><a href="/#/forgot-password" data-testid="forgot-password-link">Forgot password?</a></p>'
            f'<p class="alt">New here? <a href="{escape(signup_link)}">Create an account</a></p>')
    return _page("Sign in", body, status=status, redirect_uri=params.get("redirect_uri"))


def sign_up(params: dict[str, str], client_name: str, csrf: str, *, email: str = "", name: str = "",
            error: str | None = None, status: int = 200) -> web.Response:
    signin_params = {k: v for k, v in params.items() if k != "prompt"}
    signin_link = "/oauth/authorize?" + urlencode(signin_params)
    body = (f"<h1>Create an account</h1><p class=\"client\">to continue to {escape(client_name)}</p>{_error(error)}"
            f'<form method="post" action="/oauth/authorize">{_hidden(signin_params)}'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}"><input type="hidden" name="action" value="signup">'
            f'<label for="name">Name</label><input id="name" name="name" type="text" autocomplete="name" '
            f'maxlength="200" value="{escape(name)}">'
            f'<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" '
            f'required maxlength="254" value="{escape(email)}">'
            f'<label for="password">Password</label><input id="password" name="password" type="password" '
            f'autocomplete="new-password" required minlength="8" maxlength="1024">'
            f'<p class="hint">At least 8 characters.</p>'
            f'<button type="submit">Create account</button></form>'
            f'<p class="alt">Have an account? <a href="{escape(signin_link)}">Sign in</a></p>')
    return _page("Create an account", body, status=status, redirect_uri=params.get("redirect_uri"))


def error_page(message: str, status: int = 400) -> web.Response:
    """For requests we must not redirect back (unknown client or redirect_uri)."""
    body = f"<h1>This sign-in link is not valid</h1>{_error(message)}<p>Go back to the shop and try again.</p>"
    return _page("Sign-in error", body, status=status)


def sign_out(csrf: str) -> web.Response:
    body = ('<h1>Sign out</h1><p>Sign out of the shop on this browser?</p>'
            f'<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="{escape(csrf)}">'
            '<button type="submit">Sign out</button></form><p class="alt"><a href="/">Back to the shop</a></p>')
    return _page("Sign out", body)


def consent(params: dict[str, str], client_name: str, csrf: str, ticket: str, user_id: str,
            scopes: list[tuple[str, str]], *, user_email: str = "") -> web.Response:
    """Ask the signed-in user whether ``client_name`` may act for them, scope by scope, in words."""
    items = "".join(f'<li><span class="scope-text">{escape(text)}</span> <code>{escape(name)}</code></li>'
                    for name, text in scopes)
    who = f" as {escape(user_email)}" if user_email else ""
    body = (f"<h1>Allow access?</h1><p class=\"client\"><strong>{escape(client_name)}</strong> asks to use your "
            f"shop account{who}. It will be able to:</p><ul class=\"scopes\">{items}</ul>"
            f'<form method="post" action="/oauth/authorize">{_hidden(params)}'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<input type="hidden" name="action" value="consent">'
            f'<input type="hidden" name="user" value="{escape(user_id)}">'
            f'<input type="hidden" name="ticket" value="{escape(ticket)}">'
            f'<button type="submit" name="decision" value="allow">Allow</button> '
            f'<button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>'
            f'<p class="alt">You can withdraw this permission at any time from your account.</p>')
    return _page("Allow access", body, redirect_uri=params.get("redirect_uri"))


def invalid_input(message: str) -> web.Response:
    body = f"<h1>This request is not valid</h1>{_error(message)}<p>Go back and try again.</p>"
    return _page("Invalid request", body, status=400)
