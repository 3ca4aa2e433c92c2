"""Real servers on 127.0.0.1 answering real HTTP requests: FastAPI under
uvicorn (in a subprocess) and Flask under werkzeug (in a thread)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx
import pytest
from _servers import bearer, check_common, server_policy, token, uvicorn, werkzeug

import jwtgate


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    policy_file = tmp_path_factory.mktemp("policy") / "policy.json"
    policy_file.write_text(json.dumps(server_policy()))
    with uvicorn("apps.fastapi_app:app", dict(os.environ, JWTGATE_POLICY=str(policy_file))) as base:
        yield base


@pytest.fixture(scope="module")
def flask_server() -> Iterator[str]:
    from apps.flask_app import create_app

    with werkzeug(create_app(server_policy())) as base:
        yield base


def test_fastapi_middleware_over_http(uvicorn_server: str, rsa_signer: jwtgate.Signer) -> None:
    check_common(uvicorn_server, rsa_signer)


def test_fastapi_dependency_over_http(uvicorn_server: str, rsa_signer: jwtgate.Signer) -> None:
    with httpx.Client(base_url=uvicorn_server, timeout=10.0) as http:
        r = http.get("/dep/me", headers=bearer(token(rsa_signer)))
        assert r.status_code == 200 and r.json()["claims"]["sub"] == "ada"
        r = http.get("/dep/me", params={"access_token": token(rsa_signer)})
        assert r.status_code == 200
        r = http.get("/dep/me")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = http.get("/dep/me", headers=bearer(token(rsa_signer, exp=1_000_000_000)))
        assert r.status_code == 401 and r.json()["error"] == "expired"
        assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')

        # the per-route rule: roles must contain admin
        r = http.get("/dep/admin", headers=bearer(token(rsa_signer, roles=["admin", "dev"])))
        assert r.status_code == 200, r.text
        assert r.json() == {"claims": r.json()["claims"], "state": True}
        r = http.get("/dep/admin", headers=bearer(token(rsa_signer, roles=["dev"])))
        assert r.status_code == 403 and r.json() == {
            "error": "claim", "message": r.json()["message"], "claim": "roles"}
        assert r.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
        r = http.get("/dep/admin", headers=bearer(token(rsa_signer)))
        assert r.status_code == 403 and r.json()["claim"] == "roles"
        # the policy's own rules still hold on the route
        r = http.get("/dep/admin", headers=bearer(token(rsa_signer, roles=["admin"], dept="HR")))
        assert r.status_code == 403 and r.json()["claim"] == "dept"


def test_flask_middleware_over_http(flask_server: str, rsa_signer: jwtgate.Signer) -> None:
    check_common(flask_server, rsa_signer)
