"""Tokens signed with libjwtgate through its C ABI (ctypes), for tests and
benches that run without the Python binding (the system python3)."""
import ctypes
import json

from .paths import LIB


class Signer:
    """Signs tokens with libjwtgate (jwtgate_signer_from_pem / _from_secret)."""

    lib = None

    def __init__(self, alg, pem=None, secret=None, kid=None):
        if Signer.lib is None:
            Signer.lib = ctypes.CDLL(LIB)
        lib = self.lib
        self.handle = ctypes.c_void_p()
        a = alg.encode()
        k = kid.encode() if kid else None
        if pem is not None:
            rc = lib.jwtgate_signer_from_pem(a, len(a), pem.encode(), len(pem.encode()), k, len(k or b""),
                                             ctypes.byref(self.handle), None)
        else:
            rc = lib.jwtgate_signer_from_secret(a, len(a), secret, len(secret), k, len(k or b""),
                                                ctypes.byref(self.handle), None)
        assert rc == 0, f"signer: code {rc}"

    def sign(self, claims, lifetime=600):
        text = json.dumps(claims).encode()
        token = ctypes.c_void_p()
        self.lib.jwtgate_signer_sign.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_bool, ctypes.c_uint64, ctypes.c_bool,
            ctypes.c_double, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_void_p]
        rc = self.lib.jwtgate_signer_sign(self.handle, text, len(text), lifetime is not None, lifetime or 0,
                                          False, 0.0, ctypes.byref(token), None, None)
        assert rc == 0, f"sign: code {rc}"
        value = ctypes.string_at(token.value).decode()
        self.lib.jwtgate_string_free(token)
        return value
