"""jwtgate: fast JSON Web Token verification for Python services.

The verifier is a Rust extension (``jwtgate._jwtgate``): it releases the GIL
while it verifies, so threads verify in parallel. The middleware lives in
``jwtgate.asgi`` (Starlette/FastAPI), ``jwtgate.fastapi`` (a ``Depends``
dependency) and ``jwtgate.wsgi`` (Flask and any WSGI app).
"""

from ._jwtgate import (
    ERROR_CODES,
    AlgorithmError,
    AudienceError,
    ClaimError,
    Decision,
    ExpiredTokenError,
    HeaderError,
    InvalidRequestError,
    InvalidSignatureError,
    IssuerError,
    JwksUnavailableError,
    JwtError,
    KeyNotFoundError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    NotYetValidError,
    PolicyError,
    Route,
    Signer,
    TokenTooLargeError,
    Verified,
    Verifier,
    __version__,
    decode_unverified,
    generate_key,
    jwks,
)

__all__ = [
    "ERROR_CODES",
    "AlgorithmError",
    "AudienceError",
    "ClaimError",
    "Decision",
    "ExpiredTokenError",
    "HeaderError",
    "InvalidSignatureError",
    "InvalidRequestError",
    "IssuerError",
    "JwksUnavailableError",
    "JwtError",
    "KeyNotFoundError",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingTokenError",
    "NotYetValidError",
    "PolicyError",
    "Route",
    "Signer",
    "TokenTooLargeError",
    "Verified",
    "Verifier",
    "__version__",
    "decode_unverified",
    "generate_key",
    "jwks",
]
