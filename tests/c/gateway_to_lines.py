#!/usr/bin/env python3
"""Writes the shared gateway vectors (tests/gateway/*.json) as lines that
tests/c/test_gateway.c reads without a JSON parser: one field per line,
`key<TAB>value`, a case ends with `end`. Values never hold a newline or a
tab (the vectors' requests are printable ASCII; JSON is written compact)."""

import json
import pathlib
import sys


def field(key, *values):
    text = "\t".join([key, *values])
    assert "\n" not in text, text
    print(text)


def main(folder):
    for path in sorted(pathlib.Path(folder).glob("*.json")):
        doc = json.loads(path.read_text())
        field("policy", json.dumps(doc["policy"], separators=(",", ":")))
        for case in doc["cases"]:
            req, exp = case["request"], case["expect"]
            field("case", case["name"])
            for level in case["routes"]:
                field("route", json.dumps(level, separators=(",", ":")))
            field("method", req["method"])
            field("url", req["url"])
            for name, value in req["headers"]:
                field("header", name, value)
            field("status", str(exp["status"]))
            field("code", exp["code"] or "-")
            field("www", exp["www_authenticate"] or "-")
            for name, value in (exp.get("upstream_headers") or {}).items():
                field("upstream", name, "-" if value is None else value)
            if exp["allow"]:
                field("upstream_url", exp["upstream_url"])
            field("end")


if __name__ == "__main__":
    main(sys.argv[1])
