"""Progress events of one document's run, and how a terminal or a machine reads them.

The pipeline calls `progress(event)` with a plain dict (it also crosses process boundaries in a batch):

- {"event": "calls", "stage": "map", "done": 3, "total": 6, "tokens_per_s": 14.2, "eta_s": 95}: an LLM call of a
  stage's batch finished; the ETA is the batch's remaining calls at the seconds per call measured so far, and
  tokens_per_s the generated tokens per second of the batch's calls;
- {"event": "stage", "stage": "notes", "seconds": 312.4}: a stage finished.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

Progress = Callable[[dict[str, Any]], None]


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def describe(event: dict[str, Any]) -> str:
    """One line for a person: "map: 3/6 calls, 14.2 tok/s, ETA 1m35s" or "notes done in 5m12s"."""
    if event.get("event") == "calls":
        rate = f", {event['tokens_per_s']:.1f} tok/s" if event.get("tokens_per_s") else ""
        eta = f", ETA {clock(event['eta_s'])}" if event.get("eta_s") is not None and event["done"] < event["total"] \
            else ""
        return f"{event['stage']}: {event['done']}/{event['total']} calls{rate}{eta}"
    if event.get("event") == "stage":
        return f"{event['stage']} done in {clock(event.get('seconds', 0))}"
    return str(event)


class CallMeter:
    """Counts one batch of LLM calls as they finish and reports each (calls answered from the cache count as done
    and take no time, so they do not shorten the ETA of the calls still to make)."""

    def __init__(self, stage: str, total: int, progress: Progress | None):
        self.stage, self.total, self.progress = stage, total, progress
        self.done = self.made = self.generated = 0
        self.seconds = 0.0
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def finished(self, cached: bool, completion_tokens: int = 0) -> None:
        if self.progress is None:
            return
        with self._lock:
            self.done += 1
            if not cached:
                self.made += 1
                self.generated += completion_tokens
                self.seconds = time.monotonic() - self.start
            per_call = self.seconds / self.made if self.made else None
            event = {"event": "calls", "stage": self.stage, "done": self.done, "total": self.total,
                     "tokens_per_s": round(self.generated / self.seconds, 2) if self.seconds else None,
                     "eta_s": round(per_call * (self.total - self.done), 1) if per_call is not None else None}
        self.progress(event)


class Display:
    """Progress on stderr: one line per event, an updating line on a terminal, or JSON lines (`--json`)."""

    def __init__(self, as_json: bool = False, quiet: bool = False, stream=None, prefix: str = ""):
        self.stream = stream or sys.stderr
        self.as_json, self.quiet, self.prefix = as_json, quiet, prefix
        self.live = not as_json and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        if self.quiet:
            return
        with self._lock:
            if self.as_json:
                print(json.dumps(event), file=self.stream, flush=True)
            elif self.live and event.get("event") == "calls":
                print(f"\r\033[K  {self.prefix}{describe(event)}", end="", file=self.stream, flush=True)
            else:
                print(f"{chr(13) + chr(27) + '[K' if self.live else ''}  {self.prefix}{describe(event)}",
                      file=self.stream, flush=True)
