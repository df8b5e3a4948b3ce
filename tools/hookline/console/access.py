"""Who may use the console: whoever opened the login link `hookline console` printed, as in Jupyter.

Listening on 127.0.0.1 keeps other machines out, not other local users and processes, nor web
pages, which can make a browser send requests to 127.0.0.1 (a cross-site GET of /dlq/preview runs
the current transforms over DLQ payloads). So:

- the printed URL carries a one-time token (`secrets.token_urlsafe`); visiting it sets a cookie
  holding a second secret (HttpOnly: no script reads it; SameSite=Strict: no other site's page
  makes the browser send it) and redirects to the same page without the token, so the token
  stays out of the address bar, the history and any Referer;
- the token works once: a copy of the link (shell history, a screen share) is worth nothing after;
- every request without the cookie, static files included, gets 403: a stylesheet says nothing
  secret, but one rule with no exception is the one that cannot be got wrong;
- both secrets are compared with `hmac.compare_digest`, and the request log never shows a token.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

from markupsafe import escape
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Response

TOKEN_PARAM = "token"  # the query parameter's name, not a secret  # noqa: S105 # nosec B105
_TOKEN_IN_TEXT = re.compile(r"([?&]token=)[^&\s\"']*", re.IGNORECASE)


class Login:
    """The one-time login token and the session secret of one console process."""

    def __init__(self, port: int | None = None) -> None:
        self.token = secrets.token_urlsafe(32)
        self._session = secrets.token_urlsafe(32)
        self._used = False
        self._lock = threading.Lock()
        # Browsers share 127.0.0.1's cookies between ports: two consoles must not overwrite each other's.
        self.cookie_name = f"hookline_console_{port}" if port else "hookline_console"

    def url(self, host: str, port: int) -> str:
        return f"http://{host}:{port}/?{TOKEN_PARAM}={self.token}"

    def redeem(self, token: str) -> str | None:
        """The session secret for the right token, the first time only; else None."""
        with self._lock:  # two requests racing with the token: exactly one gets the session
            if self._used or not hmac.compare_digest(token.encode(), self.token.encode()):
                return None
            self._used = True
            return self._session

    def signed_in(self, cookie: str | None) -> bool:
        return cookie is not None and hmac.compare_digest(cookie.encode(), self._session.encode())


NO_COOKIE = ("This console needs its login link: open the URL that `hookline console` printed "
             "(http://127.0.0.1:PORT/?token=...) in this browser.")
USED = ("This login link was used already (each link works once, in the browser that opened it first) or is "
        "wrong: stop `hookline console` and start it again for a new link.")


def refused(message: str) -> Response:
    """403 on a bare page: none of the layout (its CSRF token, the stack's origin) reaches a stranger."""
    html = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>403 · hookline</title></head>"
            f"<body><h1>403</h1><p class=\"problem\">{escape(message)}</p></body></html>")
    return Response(html, status=403, mimetype="text/html")


def sign_in(login: Login, token: str, path: str, args: Any, cookie: str | None) -> Response:
    """The answer to a request carrying ?token=: a cookie and a redirect to the same page without it."""
    already = login.signed_in(cookie)
    session = None if already else login.redeem(token)
    if not already and session is None:
        return refused(USED)
    rest = [(k, v) for k, v in args.items(multi=True) if k != TOKEN_PARAM]
    # A path starting with // would make the Location point at another host.
    target = (path if path.startswith("/") and not path.startswith("//") else "/") + (
        f"?{urlencode(rest)}" if rest else "")
    response = Response(status=303, headers={"Location": target})
    if session is not None:
        response.set_cookie(login.cookie_name, session, httponly=True, samesite="Strict", path="/")
    return response


def hide_tokens(text: str) -> str:
    return _TOKEN_IN_TEXT.sub(r"\1<hidden>", text)


class RequestHandler(WSGIRequestHandler):
    """werkzeug's request log (one line per request, on stderr) with any ?token= value hidden."""

    def log(self, type: str, message: str, *args: Any) -> None:
        try:
            text = message % args if args else message
        except (TypeError, ValueError):
            text = " ".join([message, *map(str, args)])
        super().log(type, "%s", hide_tokens(text))
