"""The README's FastAPI example, on the demo policy (demo/policy.json)."""

import os

from fastapi import Depends, FastAPI
from jwtgate.fastapi import JwtAuth

auth = JwtAuth(os.environ.get("JWTGATE_POLICY", "demo/policy.json"))
writer = auth.require({"roles": {"contains_all": ["orders:write"]}})
app = FastAPI()


@app.get("/orders")
async def orders(claims: dict = Depends(auth)):
    return {"user": claims["sub"]}


@app.post("/orders")
async def create(claims: dict = Depends(writer)):
    return {"created_by": claims["sub"]}


@app.get("/health")
async def health():
    return {"ok": True}
