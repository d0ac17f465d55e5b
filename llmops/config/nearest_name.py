"""The valid name a wrong one most likely misspells, for "did you mean" in messages about unknown keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest_name(name: str, valid: Iterable[str]) -> str | None:
    """Compared without case: the original template's keys are upper case, and a hand-written key often is not
    (dataset_name, Dataset_Name)."""
    by_folded = {candidate.casefold(): candidate for candidate in valid}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """"did you mean 'X'? " when a valid name is close to `name`, else ""."""
    nearest = nearest_name(name, valid)
    return f"did you mean '{nearest}'? " if nearest else ""
