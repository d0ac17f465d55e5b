"""GitHub Actions expressions (`${{ ... }}`): tokenizer, parser and evaluator with GitHub's semantics.

Covers what workflows use: literals, contexts with `.name` / `['name']` access (case-insensitive, as
GitHub's), `!`, comparisons with GitHub's loose coercion (strings compare case-insensitively), `&&` / `||`
returning an operand as in JavaScript, and the functions contains, startsWith, endsWith, format, join,
toJSON, fromJSON, hashFiles, success, always, failure, cancelled.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.errors import ConfigError

STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
  | (?P<string>'(?:[^']|'')*')
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!().,\[\]*])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
""", re.VERBOSE)


@dataclass
class Scope:
    """What an expression can see: the contexts, the job status and the workspace for hashFiles."""

    contexts: dict[str, Any]
    status: str = "success"  # the job so far: success, failure or cancelled
    hash_files: Callable[[list[str]], str] = field(default=lambda patterns: "")


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError([f"{where}: {message}"])


def tokenize(text: str, where: str = "expression") -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise _fail(where, f"unexpected character {text[position]!r} at column {position + 1} in '{text}'")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; builds nested tuples evaluated by `_eval`."""

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        self.tokens = tokenize(text, where)
        self.index = 0

    def parse(self) -> Any:
        if not self.tokens:
            raise _fail(self.where, "empty expression")
        node = self._or()
        if self.index != len(self.tokens):
            raise _fail(self.where, f"unexpected '{self.tokens[self.index][1]}' in '{self.text}'")
        return node

    def _peek(self) -> str:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise _fail(self.where, f"'{self.text}' ends early" + (f"; expected '{expected}'" if expected else ""))
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise _fail(self.where, f"expected '{expected}' but found '{token[1]}' in '{self.text}'")
        self.index += 1
        return token

    def _or(self) -> Any:
        node = self._and()
        while self._peek() == "||":
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._equality()
        while self._peek() == "&&":
            self._take()
            node = ("and", node, self._equality())
        return node

    def _equality(self) -> Any:
        node = self._comparison()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            node = ("cmp", op, node, self._comparison())
        return node

    def _comparison(self) -> Any:
        node = self._unary()
        while self._peek() in ("<", "<=", ">", ">="):
            op = self._take()[1]
            node = ("cmp", op, node, self._unary())
        return node

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return ("not", self._unary())
        return self._postfix(self._primary())

    def _postfix(self, node: Any) -> Any:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, value = self._take()
                if value == "*":
                    node = ("star", node)
                elif kind == "name":
                    node = ("get", node, ("lit", value))
                else:
                    raise _fail(self.where, f"expected a property name after '.' but found '{value}'")
            else:
                if self._peek() == "*":
                    self._take()
                    node = ("star", node)
                else:
                    node = ("get", node, self._or())
                self._take("]")
        return node

    def _primary(self) -> Any:
        kind, value = self._take()
        if value == "(":
            node = self._or()
            self._take(")")
            return node
        if kind == "number":
            return ("lit", float(int(value, 16)) if value.lower().startswith(("0x", "-0x")) else float(value))
        if kind == "string":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind != "name":
            raise _fail(self.where, f"unexpected '{value}' in '{self.text}'")
        literal = {"true": True, "false": False, "null": None, "NaN": math.nan, "Infinity": math.inf}
        if value in literal:
            return ("lit", literal[value])
        if self._peek() == "(":
            self._take()
            args: list[Any] = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
                elif self._peek() != ")":
                    raise _fail(self.where, f"expected ',' or ')' in the call of {value}() in '{self.text}'")
            self._take(")")
            return ("call", value, args)
        return ("context", value)


def parse(text: str, where: str = "expression") -> Any:
    return _Parser(text, where).parse()


def uses_status_function(text: str) -> bool:
    """GitHub wraps an `if:` in success() && (...) unless it calls a status function itself."""
    return any(kind == "name" and value in STATUS_FUNCTIONS and i + 1 < len(tokens) and tokens[i + 1][1] == "("
               for tokens in [tokenize(text)] for i, (kind, value) in enumerate(tokens))


# ---- values -------------------------------------------------------------------------------------------

def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dict, list)):
        return to_json(value)
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        same = left is right
        return same if op == "==" else (not same if op == "!=" else False)
    if isinstance(left, str) and isinstance(right, str):
        a: Any = left.casefold()
        b: Any = right.casefold()
    elif type(left) is type(right) and not isinstance(left, str):
        a, b = left, right
    else:
        a, b = _to_number(left), _to_number(right)
    if isinstance(a, float) and isinstance(b, float) and (math.isnan(a) or math.isnan(b)):
        return op == "!="
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _property(value: Any, name: Any) -> Any:
    if isinstance(value, list):
        number = _to_number(name)
        return value[int(number)] if not math.isnan(number) and 0 <= int(number) < len(value) else None
    if isinstance(value, Mapping):
        key = to_string(name)
        if key in value:
            return value[key]
        folded = key.casefold()
        return next((v for k, v in value.items() if str(k).casefold() == folded), None)
    return None


def _format(template: str, args: list[Any], where: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if template.startswith("{{", i) or template.startswith("}}", i):
            out.append(char)
            i += 2
        elif char == "{":
            end = template.find("}", i)
            index_text = template[i + 1:end] if end > 0 else ""
            if not index_text.isdigit() or int(index_text) >= len(args):
                raise _fail(where, f"format('{template}') has no argument for '{{{index_text}}}'")
            out.append(to_string(args[int(index_text)]))
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _call(name: str, args: list[Any], scope: Scope, where: str) -> Any:
    lowered = name.lower()
    if lowered in STATUS_FUNCTIONS:
        return {"success": scope.status == "success", "always": True, "failure": scope.status == "failure",
                "cancelled": scope.status == "cancelled"}[lowered]
    if lowered == "contains":
        haystack, needle = args
        if isinstance(haystack, list):
            return any(_compare("==", item, needle) for item in haystack)
        return to_string(needle).casefold() in to_string(haystack).casefold()
    if lowered == "startswith":
        return to_string(args[0]).casefold().startswith(to_string(args[1]).casefold())
    if lowered == "endswith":
        return to_string(args[0]).casefold().endswith(to_string(args[1]).casefold())
    if lowered == "format":
        return _format(to_string(args[0]), args[1:], where)
    if lowered == "join":
        separator = to_string(args[1]) if len(args) > 1 else ","
        items = args[0] if isinstance(args[0], list) else [args[0]]
        return separator.join(to_string(item) for item in items)
    if lowered == "tojson":
        return to_json(args[0])
    if lowered == "fromjson":
        try:
            return json.loads(to_string(args[0]))
        except json.JSONDecodeError as exc:
            raise _fail(where, f"fromJSON got text that is not JSON ({exc.msg}): {to_string(args[0])!r}") from None
    if lowered == "hashfiles":
        return scope.hash_files([to_string(a) for a in args])
    raise _fail(where, f"unknown function '{name}()'; valid: always, cancelled, contains, endsWith, failure, "
                       "format, fromJSON, hashFiles, join, startsWith, success, toJSON")


def _eval(node: Any, scope: Scope, where: str) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "context":
        name = node[1]
        found = next((k for k in scope.contexts if k.lower() == name.lower()), None)  # names are case-insensitive
        if found is None:
            raise _fail(where, f"unknown context '{name}'; available here: {', '.join(sorted(scope.contexts))}")
        return scope.contexts[found]
    if kind == "get":
        return _property(_eval(node[1], scope, where), _eval(node[2], scope, where))
    if kind == "star":
        value = _eval(node[1], scope, where)
        return list(value.values()) if isinstance(value, Mapping) else list(value) if isinstance(value, list) else []
    if kind == "not":
        return not truthy(_eval(node[1], scope, where))
    if kind == "and":
        left = _eval(node[1], scope, where)
        return _eval(node[2], scope, where) if truthy(left) else left
    if kind == "or":
        left = _eval(node[1], scope, where)
        return left if truthy(left) else _eval(node[2], scope, where)
    if kind == "cmp":
        return _compare(node[1], _eval(node[2], scope, where), _eval(node[3], scope, where))
    if kind == "call":
        return _call(node[1], [_eval(a, scope, where) for a in node[2]], scope, where)
    raise _fail(where, f"cannot evaluate node {kind}")


def evaluate(text: str, scope: Scope, where: str = "expression") -> Any:
    """The value of one expression (without the `${{ }}`)."""
    return _eval(parse(text, where), scope, where)


def _expression_spans(template: str, where: str) -> list[tuple[int, int]]:
    """(start, end) of each `${{ ... }}`, skipping `}}` inside string literals."""
    spans: list[tuple[int, int]] = []
    start = template.find("${{")
    while start >= 0:
        i, quoted = start + 3, False
        while i < len(template):
            if template[i] == "'":
                quoted = not quoted
            elif not quoted and template.startswith("}}", i):
                break
            i += 1
        if i >= len(template):
            raise _fail(where, f"'${{{{' without a closing '}}}}' in '{template}'")
        spans.append((start, i + 2))
        start = template.find("${{", i + 2)
    return spans


def interpolate(template: Any, scope: Scope, where: str = "value") -> Any:
    """Replace every `${{ expr }}` in a string. A string that is exactly one expression keeps the value's
    type (GitHub does this for `if`, `continue-on-error`, `with` and matrix values); others become text."""
    if not isinstance(template, str) or "${{" not in template:
        return template
    spans = _expression_spans(template, where)
    if len(spans) == 1 and spans[0] == (0, len(template.rstrip())) and not template[:spans[0][0]].strip():
        return evaluate(template[3:spans[0][1] - 2], scope, where)
    out, position = [], 0
    for start, end in spans:
        out.append(template[position:start])
        out.append(to_string(evaluate(template[start + 3:end - 2], scope, where)))
        position = end
    out.append(template[position:])
    return "".join(out)


def condition(text: Any, scope: Scope, where: str = "if") -> bool:
    """An `if:` with GitHub's rules: `${{ }}` optional, and success() && (...) unless a status function is used."""
    if text is None or text == "":
        return scope.status == "success"
    if isinstance(text, bool):
        return text and scope.status == "success"
    expression = str(text).strip()
    if expression.startswith("${{") and expression.endswith("}}") and len(_expression_spans(expression, where)) == 1:
        expression = expression[3:-2].strip()
    elif "${{" in expression:
        # A mixed template such as `x == ${{ y }}` is text, which is always truthy when non-empty.
        return truthy(interpolate(expression, scope, where)) and scope.status == "success"
    value = truthy(evaluate(expression, scope, where))
    return value if uses_status_function(expression) else value and scope.status == "success"
