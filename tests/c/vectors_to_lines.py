#!/usr/bin/env python3
"""Turns the shared vectors (tests/vectors/*.json) into a line format the C
vector runner reads without a JSON parser. One record per vector:

    vector <file>/<name>
    policy <compact JSON>
    token <token>
    now <unix seconds> | now -
    expect ok | expect <code>
    claim <name> | claim-none        (only when the vector checks it)
    status <HTTP status>             (only when the vector checks it)
    issuer <issuer> | issuer-none    (only when the vector checks it)
    payload <the token's payload JSON exactly as carried, in hex>
    claimname <JSON Pointer>         (one pair per expected top-level claim)
    claimjson <compact JSON, keys sorted, as serde_json writes it>
    headers <count>                  (only when the vector checks headers)
    header <name>                    (then one value line per header)
    value <value>
    end

Values never hold a newline (JSON escapes them); the script refuses any that would.
"""
import base64
import glob
import json
import os
import sys


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def line(out, key, value=None):
    text = key if value is None else f"{key} {value}"
    if "\n" in text or "\r" in text:
        sys.exit(f"cannot write a line holding a newline: {text!r}")
    out.append(text)


def pointer(name):
    return "/" + name.replace("~", "~0").replace("/", "~1")


def payload_of(token):
    segment = token.split(".")[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).hex()


def main():
    vector_dir = sys.argv[1]
    out = []
    for path in sorted(glob.glob(os.path.join(vector_dir, "*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for vector in doc["vectors"]:
            policy = vector["policy"]
            if isinstance(policy, str):
                policy = doc["policies"][policy]
            expect = vector["expect"]
            line(out, "vector", f"{os.path.basename(path)}/{vector['name']}")
            line(out, "policy", compact(policy))
            line(out, "token", vector.get("token", ""))
            line(out, "now", "-" if vector.get("now") is None else repr(float(vector["now"])))
            line(out, "expect", "ok" if expect.get("valid") else expect["code"])
            if "claim" in expect:
                if expect["claim"] is None:
                    line(out, "claim-none")
                else:
                    line(out, "claim", expect["claim"])
            if "status" in expect:
                line(out, "status", str(expect["status"]))
            if "issuer" in expect:
                if expect["issuer"] is None:
                    line(out, "issuer-none")
                else:
                    line(out, "issuer", expect["issuer"])
            if expect.get("valid"):
                line(out, "payload", payload_of(vector["token"]))
            for name, value in expect.get("claims", {}).items():
                line(out, "claimname", pointer(name))
                line(out, "claimjson", compact(value))
            if "headers" in expect:
                line(out, "headers", str(len(expect["headers"])))
                for name, value in expect["headers"].items():
                    line(out, "header", name)
                    line(out, "value", value)
            line(out, "end")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
