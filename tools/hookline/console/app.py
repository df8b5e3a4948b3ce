"""The Flask app: one blueprint per page (console/pages/), shared layout and the safety rules.

Safety, for a server that can replay events with the operator's own AWS credentials:
- it is meant to listen on 127.0.0.1 only (commands/console.py binds there), and it answers
  only requests whose Host is that address or localhost on its port, so a web page cannot
  reach it through DNS rebinding;
- every request needs the cookie that the one-time login link sets (console/access.py);
- every POST carries a per-process CSRF token that only pages served here contain, and a
  cross-site Origin is refused;
- scripts and styles come from /static only (Content-Security-Policy), pages cannot be framed;
- secrets are redacted by operations/dlq.py's functions, the ones `hookline dlq show` uses.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from flask import Flask, abort, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from hookline.console.access import NO_COOKIE, TOKEN_PARAM, Login, refused, sign_in
from hookline.console.backend import Backend
from hookline.console.pages import PAGES
from hookline.operations.stack import StackNotFound
from hookline.operations.timeparse import format_duration, format_epoch

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(backend_: Backend, *, port: int | None = None, login: Login | None = None) -> Flask:
    """`port` = the port it listens on (None in tests): requests for any other Host are refused.
    `login` holds the token of the link to print (`login.url(host, port)`); a new one by default."""
    app = Flask(__name__)
    app.extensions["hookline_backend"] = backend_
    login = login or Login(port)
    app.extensions["hookline_login"] = login
    app.config["CSRF_TOKEN"] = secrets.token_urlsafe(32)
    app.config["ALLOWED_HOSTS"] = ({f"127.0.0.1:{port}", f"localhost:{port}"} if port else None)
    app.jinja_env.filters["epoch"] = format_epoch
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.filters["pct"] = lambda v: "-" if v is None else f"{v * 100:.1f}%"
    app.jinja_env.filters["ms"] = lambda v: "-" if v is None else f"{float(v):.0f} ms"

    for page in PAGES:
        app.register_blueprint(page.bp)

    @app.before_request
    def _guard() -> Any:
        allowed = app.config["ALLOWED_HOSTS"]
        if allowed is not None and request.host not in allowed:
            return refused_host()
        cookie = request.cookies.get(login.cookie_name)
        if request.method in ("GET", "HEAD") and TOKEN_PARAM in request.args:
            return sign_in(login, request.args[TOKEN_PARAM], request.path, request.args, cookie)
        if not login.signed_in(cookie):
            return refused(NO_COOKIE)
        g.signed_in = True
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin and origin.split("://", 1)[-1] != request.host:
                abort(403, "cross-site request refused")
            sent = request.form.get("csrf_token", "")
            if not hmac.compare_digest(sent.encode(), app.config["CSRF_TOKEN"].encode()):
                abort(403, "missing or wrong CSRF token: reload the page and try again")

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make Chromium send Origin: null
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _layout() -> dict[str, Any]:
        return {"nav": [(p.NAV[0], p.NAV[1]) for p in PAGES if getattr(p, "NAV", None)],
                "access": backend_.access, "origin": backend_.origin,
                # An error page shown before sign-in (421) must not hand out the token.
                "csrf_token": app.config["CSRF_TOKEN"] if g.get("signed_in") else "", "page": g.get("page", "")}

    @app.errorhandler(Exception)
    def _failure(e: Exception) -> Any:
        if isinstance(e, HTTPException):
            return e
        app.logger.exception("page failed")
        return render_template("error.html", code=502, message=explain(e)), 502

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(421)
    def _error(e: Any) -> Any:
        return render_template("error.html", code=e.code, message=e.description), e.code

    return app


def refused_host() -> Any:
    # Bare, like access.refused: a DNS-rebinding page must learn nothing from the layout.
    return Response("421: this console answers only on 127.0.0.1 / localhost\n", status=421, mimetype="text/plain")


def explain(e: Exception) -> str:
    """What went wrong reaching the stack, in the words `hookline events / dlq` use (commands/_ops.py)."""

    if isinstance(e, StackNotFound):
        return str(e)
    if isinstance(e, EndpointConnectionError):
        return (f"cannot reach {e.kwargs.get('endpoint_url', 'the AWS endpoint')}: is `hookline dev` still running? "
                "Restart the console next to it, or with --stack NAME")
    if isinstance(e, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE (or run `aws configure`), then restart the console"
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return f"AWS refused {e.operation_name}: {err.get('Code')}: {err.get('Message')}"
    if isinstance(e, BotoCoreError):
        return f"AWS error: {e}"
    return f"unexpected {type(e).__name__}; the console's terminal has the details"
