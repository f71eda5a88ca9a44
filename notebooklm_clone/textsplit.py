"""Sentences and pieces under a length limit: one splitter for every place that must keep text under what a TTS
engine (or a script turn) may hold: script turns, speech clips, subtitle cues."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def split_for_speech(text: str, max_chars: int) -> list[str]:
    """Pieces of at most `max_chars`, cut at sentence ends, else at clause marks, else between words."""
    return _pack([part for sentence in sentences(text) for part in _split_long(sentence, max_chars)], max_chars)


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Consecutive parts joined with spaces into as few pieces of at most `max_chars` as greedy packing gives."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + 1 + len(part) > max_chars:
            pieces.append(current)
            current = part
        else:
            current = f"{current} {part}".strip()
    if current:
        pieces.append(current)
    return pieces


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    for mark in (r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+"):
        parts = re.split(mark, sentence)
        if len(parts) > 1:
            out = _pack(parts, max_chars)
            if all(len(p) <= max_chars for p in out):
                return out
            return [q for p in out for q in _split_long(p, max_chars)]
    return [sentence[i:i + max_chars] for i in range(0, len(sentence), max_chars)]
