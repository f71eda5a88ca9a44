"""Prices (USD per 1M tokens, from resources/prices.toml or a user file) and the usage ledger every LLM call is
recorded in, so a run can report its tokens and cost per stage."""

from __future__ import annotations

import fnmatch
import os
import threading
import tomllib
from importlib import resources
from pathlib import Path

from ..errors import UsageError

USAGE_TOKENS = ("prompt_tokens", "cached_tokens", "completion_tokens")
USAGE_FIELDS = ("calls", "prompt_tokens", "cached_tokens", "completion_tokens", "cache_hits", "retries", "repairs")


def load_prices(path: str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """USD per 1M tokens by model name (or glob): {"gpt-4o-mini": {"input":..,"cached_input":..,"output":..}}."""
    try:
        if path:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = resources.files("notebooklm_clone").joinpath("resources", "prices.toml").read_text(encoding="utf-8")
        return tomllib.loads(text).get("models", {})
    except FileNotFoundError:
        raise UsageError(f"price file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"price file {path} is not valid TOML: {exc}") from None


def price_of(prices: dict[str, dict[str, float]], model: str) -> dict[str, float] | None:
    """The exact entry for `model`, else the longest matching glob; None when the price is unknown."""
    if model in prices:
        return prices[model]
    globs = sorted((p for p in prices if any(c in p for c in "*?[")), key=len, reverse=True)
    return next((prices[p] for p in globs if fnmatch.fnmatchcase(model, p)), None)


class UsageLedger:
    """Tokens and calls per (stage, model), thread-safe. Cache hits are counted as hits, never as new tokens."""

    def __init__(self, prices: dict[str, dict[str, float]] | None = None):
        self.prices = prices or {}
        self._rows: dict[tuple[str, str], dict[str, int]] = {}
        self._lock = threading.Lock()

    def record(self, stage: str, model: str, **counts: int) -> None:
        with self._lock:
            row = self._rows.setdefault((stage or "other", model), dict.fromkeys(USAGE_FIELDS, 0))
            for name, value in counts.items():
                row[name] += int(value or 0)

    def _sum(self, key) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (stage, model), row in self._rows.items():
                acc = out.setdefault(key(stage, model), dict.fromkeys(USAGE_FIELDS, 0))
                for name in USAGE_FIELDS:
                    acc[name] += row[name]
        return out

    def totals(self) -> dict[str, int]:
        return self._sum(lambda stage, model: "all").get("all", dict.fromkeys(USAGE_FIELDS, 0))

    def by_stage(self) -> dict[str, dict[str, int]]:
        return self._sum(lambda stage, model: stage)

    def by_model(self) -> dict[str, dict[str, int]]:
        return self._sum(lambda stage, model: model)

    def unpriced_models(self) -> list[str]:
        return sorted(m for m, row in self.by_model().items() if row["calls"] and price_of(self.prices, m) is None)

    def cost_usd(self) -> float:
        """Cost of the calls made (cached prompt tokens at the cached rate); models without a price count as 0."""
        total = 0.0
        for model, row in self.by_model().items():
            price = price_of(self.prices, model)
            if price is None:
                continue
            fresh = row["prompt_tokens"] - row["cached_tokens"]
            total += (
                fresh * price.get("input", 0.0)
                + row["cached_tokens"] * price.get("cached_input", price.get("input", 0.0))
                + row["completion_tokens"] * price.get("output", 0.0)
            ) / 1_000_000
        return round(total, 6)

    def summary(self) -> str:
        """One line for the end of a run."""
        t = self.totals()
        line = (
            f"LLM: {t['calls']} call{'s' * (t['calls'] != 1)} ({t['cache_hits']} answered from cache), "
            f"{t['prompt_tokens']:,} prompt tokens "
            f"({t['cached_tokens']:,} reused), {t['completion_tokens']:,} completion tokens, "
            f"${self.cost_usd():.4f}"
        )
        unpriced = self.unpriced_models()
        return line + (f" (no price for {', '.join(unpriced)})" if unpriced else "")
