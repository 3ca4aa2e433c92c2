"""A Flask app behind the jwtgate WSGI middleware."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

import jwtgate
from jwtgate.wsgi import JwtMiddleware


def create_app(policy: Any) -> Flask:
    app = Flask(__name__)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"claims": request.environ["jwtgate.claims"], "x_user": request.headers.get("X-User")}

    app.wsgi_app = JwtMiddleware(app.wsgi_app, jwtgate.Verifier(policy), exclude=["/health"])  # type: ignore[method-assign]
    return app
