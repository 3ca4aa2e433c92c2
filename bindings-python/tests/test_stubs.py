"""The .pyi stubs match the extension module exactly."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import jwtgate
import jwtgate._jwtgate as native

PACKAGE = Path(jwtgate.__file__).parent
STUB = PACKAGE / "_jwtgate.pyi"


def test_package_ships_py_typed_and_stub() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()


def stub_names() -> dict[str, set[str]]:
    """Top-level names of the stub and the members of each class in it."""
    tree = ast.parse(STUB.read_text())
    names: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[""].add(node.name)
            members = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            names[node.name] = members
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[""].add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[""].add(node.target.id)
    return names


def test_stub_names_match_the_module() -> None:
    names = stub_names()
    public = {n for n in native.__all__}
    assert names[""] >= public, f"missing from the stub: {public - names['']}"
    assert {n for n in names[""] if not n.startswith("_") or n == "__version__"} <= public | {"__all__"}
    for cls in ("Verifier", "Verified", "Signer", "Decision", "Route"):
        runtime = {n for n in dir(getattr(native, cls)) if not n.startswith("_")}
        stub = {n for n in names[cls] if not n.startswith("_")}
        assert stub == runtime, f"{cls}: stub-only {stub - runtime}, runtime-only {runtime - stub}"
    assert set(jwtgate.__all__) == public


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_stubtest() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "jwtgate"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_package_type_checks_strictly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-p", "jwtgate"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
