"""The Python program in the model's answer.

Models wrap code in a ```python fence, often with a sentence before or after it, and sometimes send two
blocks (the program, then an example run). The first fenced block wins; an answer with no fence at all is
taken whole, since a bare program is what the prompts ask for. A fence left open (the answer cut off by
max_tokens) still yields what was written, which then fails in the sandbox with a SyntaxError the line shows.
"""

from __future__ import annotations

import re

from promptflow.core import tool

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def code_in(answer: str) -> str:
    match = _FENCE.search(answer or "")
    code = match.group(1) if match else (answer or "")
    return code.strip("\n").rstrip() + "\n" if code.strip() else ""


@tool
def extract_code(llm_output: str) -> str:
    return code_in(llm_output)
