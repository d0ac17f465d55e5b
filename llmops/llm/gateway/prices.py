"""Per-model token prices (configs/prices.json) and the cost of one call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops.config.nearest_name import did_you_mean
from llmops.errors import ConfigError

_TOKENS_PER_UNIT = 1000


@dataclass(frozen=True)
class ModelPrice:
    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0


FREE = ModelPrice()


def default_prices_path() -> Path:
    """configs/prices.json of the repository this package runs from."""
    return Path(__file__).resolve().parents[3] / "configs" / "prices.json"


class PriceTable:
    """Looks a model up exactly, then by its longest listed prefix, else uses the default price."""

    def __init__(self, models: Mapping[str, ModelPrice], default: ModelPrice = FREE) -> None:
        self._models = dict(models)
        self._default = default
        self._by_length = sorted(self._models, key=len, reverse=True)

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ConfigError([f"{path}: file not found; pass the path of a prices.json"]) from error
        except json.JSONDecodeError as error:
            raise ConfigError([f"{path}: not valid JSON: {error}"]) from error
        problems: list[str] = []
        default = _parse_price(raw.get("default", {}), f"{path}: default", problems)
        models = {
            name: _parse_price(entry, f"{path}: models.{name}", problems)
            for name, entry in (raw.get("models") or {}).items()
        }
        if problems:
            raise ConfigError(problems)
        return cls(models, default)

    def price_for(self, model: str) -> ModelPrice:
        if model in self._models:
            return self._models[model]
        for name in self._by_length:
            if model.startswith(name):
                return self._models[name]
        return self._default

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.price_for(model)
        return (prompt_tokens * price.prompt_per_1k + completion_tokens * price.completion_per_1k) / _TOKENS_PER_UNIT


def _parse_price(entry: object, where: str, problems: list[str]) -> ModelPrice:
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be an object with prompt_per_1k and completion_per_1k")
        return FREE
    valid = ("completion_per_1k", "prompt_per_1k")
    for key in sorted(set(entry) - set(valid)):
        problems.append(f"{where}.{key}: unknown key; {did_you_mean(str(key), valid)}valid: {', '.join(valid)}")
    values: dict[str, float] = {}
    for key in ("prompt_per_1k", "completion_per_1k"):
        value = entry.get(key, 0.0)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            problems.append(f"{where}.{key}: {value!r} must be a number >= 0")
            value = 0.0
        values[key] = float(value)
    return ModelPrice(**values)
