"""Pieces under a length limit, cut at sentence ends (text/sentences.py) where they can be: one splitter for every
place that must keep text under what a TTS engine (or a script turn) may hold: script turns and speech clips. Also
the spoken length of a text in words, counting Chinese and Japanese by characters."""

from __future__ import annotations

import re

from .sentences import split_sentences

# Chinese and Japanese write no spaces between words, so their characters are counted: Mandarin is spoken at about
# 250-300 characters a minute and Japanese at about 300, against the ~150 words of English the budgets assume
CJK_CHARS_PER_WORD = 2.0
CJK_CHARACTER = re.compile("[\u3040-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
                  "\U00020000-\U0002fa1f]")
_CJK_PUNCTUATION = re.compile("[\u3000-\u303f\u30fb\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")


def count_words(text: str) -> int:
    """Spoken length in words: space-separated words, plus Chinese/Japanese characters at CJK_CHARS_PER_WORD each
    (their punctuation is not counted)."""
    cjk = len(CJK_CHARACTER.findall(text))
    return len(_CJK_PUNCTUATION.sub(" ", CJK_CHARACTER.sub(" ", text)).split()) + round(cjk / CJK_CHARS_PER_WORD)


def split_for_speech(text: str, max_chars: int) -> list[str]:
    """Pieces of at most `max_chars`, cut at sentence ends, else at clause marks, else between words."""
    return _pack([part for sentence in split_sentences(text) for part in _split_long(sentence, max_chars)], max_chars)


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
