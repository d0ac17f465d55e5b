"""How numbers look in reports and messages, in one place so HTML, Markdown and errors agree."""

from __future__ import annotations

NOTHING = "–"


def number(value: float | None) -> str:
    """A metric value: 3 decimals below 10, 2 below 1,000, then whole numbers with separators."""
    if value is None:
        return NOTHING
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def signed(value: float | None) -> str:
    """A difference, always with its sign."""
    if value is None:
        return NOTHING
    text = number(value)
    if text.lstrip("-").strip("0.,") == "":
        return number(0.0)  # no sign on a difference that rounds to zero (nor "-0.000")
    return text if text.startswith("-") else f"+{text}"


def interval(low: float | None, high: float | None, signed_values: bool = False) -> str:
    if low is None or high is None:
        return NOTHING
    show = signed if signed_values else number
    return f"[{show(low)}, {show(high)}]"


def p_value(value: float | None) -> str:
    if value is None:
        return NOTHING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def exact(value: float | None) -> str:
    """A value quoted in a message: short but without losing what matters (6 significant digits)."""
    return "missing" if value is None else f"{value:.6g}"


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def lines(value: int) -> str:
    return f"{value:,} line" + ("" if value == 1 else "s")
