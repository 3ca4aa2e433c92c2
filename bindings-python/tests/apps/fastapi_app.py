"""A FastAPI app behind jwtgate, served by uvicorn in the tests.

The policy file is named by the JWTGATE_POLICY environment variable.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Depends, FastAPI, Request

from jwtgate import Verifier
from jwtgate.asgi import JwtMiddleware
from jwtgate.fastapi import JwtAuth

verifier = Verifier(os.environ["JWTGATE_POLICY"])
auth = JwtAuth(verifier)
admin = auth.require({"roles": {"contains_all": ["admin"], "required": True}})

app = FastAPI()
# /dep/* is left to the dependency alone, /health to nobody.
app.add_middleware(JwtMiddleware, policy=verifier, exclude=["/health", "/dep"])


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/me")
async def me(request: Request) -> dict[str, Any]:
    return {"claims": request.state.auth, "x_user": request.headers.get("x-user")}


@app.get("/dep/me")
async def dep_me(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:
    return {"claims": claims}


@app.get("/dep/admin")
async def dep_admin(request: Request, claims: dict[str, Any] = Depends(admin)) -> dict[str, Any]:
    return {"claims": claims, "state": request.state.auth == claims}
