"""Enough TOML writing for tickrail's configuration files, for the Python tools that derive a
configuration from a shipped one (load it with ``tomllib``, adjust, write it back).

Tables, scalars, arrays and inline tables; keys are quoted where TOML needs it. The output reads
back with ``tomllib`` to the same document.
"""

from __future__ import annotations

import json


def _key(k: str) -> str:
    bare = k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k)
    return k if bare else json.dumps(k)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def toml_dump(doc: dict) -> str:
    """``doc`` as a TOML document: nested dicts become ``[a.b]`` tables."""
    out: list[str] = []

    def table(prefix: list[str], t: dict) -> None:
        scalars = {k: v for k, v in t.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in t.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            out.append("[" + ".".join(_key(p) for p in prefix) + "]")
        for k, v in scalars.items():
            out.append(f"{_key(k)} = {toml_value(v)}")
        if scalars:
            out.append("")
        for k, v in tables.items():
            table(prefix + [k], v)

    table([], doc)
    return "\n".join(out) + "\n"
