"""`${{inputs.x}}`, `${{outputs.y}}` and `${{parent...}}` expressions, as Azure ML resolves them."""

from __future__ import annotations

import re

_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def substitute(text: str, values: dict[str, str]) -> str:
    """`text` with each `${{key}}` replaced by `values[key]`; an unknown key is an error, as on the service."""

    def replace(found: re.Match[str]) -> str:
        key = found.group(1)
        if key not in values:
            raise KeyError(f"Unknown binding '${{{{{key}}}}}'; known: {', '.join(sorted(values)) or 'none'}")
        return values[key]

    return _EXPRESSION.sub(replace, text)


def reference(text: object) -> str | None:
    """The key of a value that is exactly one binding (`${{parent.inputs.data}}` -> parent.inputs.data)."""
    if not isinstance(text, str):
        return None
    found = _EXPRESSION.fullmatch(text.strip())
    return found.group(1) if found else None
