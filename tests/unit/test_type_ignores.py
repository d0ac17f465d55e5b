"""Every `# type: ignore` in the package says why, on its line or the line above (mypy --strict runs in make lint)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "llmops"
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?")


def test_every_type_ignore_gives_a_reason() -> None:
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            found = IGNORE.search(line)
            if not found:
                continue
            after = line[found.end():].strip()
            above = lines[number - 2].strip() if number > 1 else ""
            if not after.startswith("#") and not above.startswith("#"):
                unexplained.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not unexplained, "a type: ignore without a reason:\n" + "\n".join(unexplained)
