"""Sentences of a paragraph: the one splitter for chunks (overlap and paragraphs too long for a chunk), script turns
(repetition checks), speech pieces and subtitle cues.

A sentence ends at . ! ? or … (maybe followed by closing quotes or brackets, which stay with it) and whitespace,
before an upper-case letter, a digit or an opening quote/bracket. A period after a common abbreviation ("et al.",
"Fig.", "e.g.", "Dr.") or a single capital letter ("A.", an initial) ends none: a chunk, a subtitle cue or a speech
piece that stops at "Dr." reads wrong. The chunker's splitter always knew abbreviations and the speech splitter
knew "…"; this one does both (the tests of either hold). Neither kept the closing quote of a sentence that ends in
one; this one does, so the sentences joined by single spaces give the paragraph back (up to whitespace).
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])([\"')\]\u201d\u2019]*)\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(\b(e\.g|i\.e|et al|etc|vs|cf|fig|figs|eq|eqs|ref|refs|no|vol|pp|approx|ca|dr|mr|mrs|ms|"
                           r"prof|st|jr|sr|inc|ltd|co|sec|ch|al)|\b[A-Z])\.$", re.I)
ABBREVIATION_WINDOW = 12  # longer than the longest abbreviation above plus the character before it


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, each stripped, none empty (see the module docstring for where one ends)."""
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start()
        # Only the sentence's last few characters can hold an abbreviation: looking at those alone keeps a long run
        # of abbreviations ("See Fig. A. See Fig. A. ...") linear instead of quadratic.
        if _ABBREVIATION.search(text[max(start, end - ABBREVIATION_WINDOW):end]):
            continue
        candidate = text[start:match.end(1)].strip()
        if candidate:
            parts.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts
