"""Condensing notes until they fit a prompt, shared by the notes (abstract, sections, Q&A, quiz) and script (outline)
stages.

Nothing is ever truncated to fit a context: a prompt is measured with the tokenizer of the model that will answer it,
and when the notes of a long document do not fit one call they are packed into batches that fit a digest call, each
batch condensed to fewer points, and the result packed again, as many rounds as a long document needs.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from ..llm.prompts import render_messages
from ..models import Cited
from .calls import Budget, Caller, output_schema
from .citations import format_pages
from .grounding import combine

Render = Callable[[list[str]], list[dict]]


class PointOut(BaseModel):
    """A sentence written from numbered notes: the ids of the notes ("k3") first, so it is written from them."""

    ids: list[str] = Field(min_length=1, max_length=3)
    text: str


class PointsOut(BaseModel):
    points: list[PointOut]


def cited_line(point: Cited) -> str:
    """A point as a prompt shows it: its text and its pages, "(p. 4)"."""
    return f"{point.text} {format_pages(point.pages)}"


def point_lines(points: list[Cited]) -> list[str]:
    """Points as numbered lines for a reduce prompt: "[k1] text"; the model answers with these ids."""
    return [f"[k{i}] {p.text}" for i, p in enumerate(points, 1)]


def point_ids(points: list[Cited]) -> list[str]:
    return [f"k{i}" for i in range(1, len(points) + 1)]


def chosen(points: list[Cited], ids: list[str]) -> list[Cited]:
    """The points a model named by id ("k3"), in its order, once each; unknown ids give nothing."""
    out, seen = [], set()
    for raw in ids:
        digits = raw.strip().strip("[]").lstrip("kK")
        if digits.isdigit() and 1 <= int(digits) <= len(points) and digits not in seen:
            seen.add(digits)
            out.append(points[int(digits) - 1])
    return out


def pages_of(points: list[Cited]) -> list[int]:
    return sorted({p for point in points for p in point.pages})


def dedupe(points: list[Cited]) -> list[Cited]:
    """Each point once (the first of those with the same words, whatever their case and spacing)."""
    seen, out = set(), []
    for p in points:
        key = " ".join(p.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def digest_messages(items: list[str], limit: int, title: str, prompts_dir: str | None, style: dict) -> list[dict]:
    """The digest prompt: condense `items` to at most `limit` points."""
    style = style or {"language": "English", "level": "intro", "instructions": ""}
    return render_messages("digest", prompts_dir, items=items, limit=limit, title=title, **style)


def pack(items: list[str], render: Render, budget: Budget, stage: str) -> list[list[str]]:
    """Greedy batches of consecutive items whose rendered prompt fits `stage`'s prompt limit (checked, not guessed)."""
    limit = budget.prompt_limit(stage)
    base = budget.count(render([]))
    batches: list[list[str]] = []
    current: list[str] = []
    size = base
    for item in items:
        cost = budget.count_text(item) + 1
        if base + cost > limit:
            raise UsageError(f"one note is longer than the model's context allows ({cost} tokens): {item[:60]}...")
        if current and size + cost > limit:
            batches.append(current)
            current, size = [], base
        current.append(item)
        size += cost
    if current:
        batches.append(current)
    checked: list[list[str]] = []
    for batch in batches:  # the sum of parts can undercount the whole by a token here and there: verify
        while len(batch) > 1 and budget.count(render(batch)) > limit:
            checked.append(batch[: len(batch) // 2])
            batch = batch[len(batch) // 2:]
        checked.append(batch)
    return checked


class Digester:
    """Digest calls: one batch of points condensed to at most `limit` points, each written from the points it names
    and kept only when their evidence supports it (else that first point stands in: grounding.combine). A batch
    whose answer is unusable keeps its first points rather than losing the span."""

    def __init__(self, caller: Caller, settings: Settings, title: str, style: dict, language: str = "en"):
        self.caller = caller
        self.prompts_dir = settings.prompts_dir
        self.title = title
        self.style = style
        self.language = language
        self.budget = caller.budget("default")
        self.rounds = 0

    def render(self, limit: int) -> Render:
        return lambda items: digest_messages(items, limit, self.title, self.prompts_dir, self.style)

    def batches(self, points: list[Cited]) -> list[list[Cited]]:
        """`points` in consecutive batches whose digest prompt fits."""
        sizes = [len(b) for b in pack(point_lines(points), self.render(12), self.budget, "digest")]
        out, start = [], 0
        for size in sizes:
            out.append(points[start:start + size])
            start += size
        return out

    def __call__(self, batch: list[Cited], limit: int) -> list[Cited]:
        messages = self.render(limit)(point_lines(batch))
        answer = self.caller.one("digest", messages,
                                 output_schema(PointsOut, pages_of(batch), {"points": 1}, ids=point_ids(batch),
                                               points=limit),
                                 PointsOut, label="condense notes")
        if answer is None:
            return batch[:limit]
        points = [c for p in answer.points if (c := combine(p.text, chosen(batch, p.ids), self.language))]
        return dedupe(points) or batch[:limit]


def condense(points: list[Cited], render: Render, digester: Digester, budget: Budget, stage: str) -> list[Cited]:
    """Shrink `points` until `render(lines)` fits `stage`'s prompt (measured by `budget`, the answering model's):
    batches that fit a digest call are condensed to fewer points, and the result is packed again, hierarchically."""

    def size(items: list[Cited]) -> int:
        return budget.count(render(point_lines(items)))

    while size(points) > budget.prompt_limit(stage):
        condensed: list[Cited] = []
        for batch in digester.batches(points):
            condensed.extend(digester(batch, max(3, min(10, len(batch) // 3))))
        digester.rounds += 1
        if len(condensed) >= len(points) and size(condensed) >= size(points):
            raise BackendUnavailable("condensing the notes did not make them shorter; the model ignores the limits")
        points = condensed
    return points
