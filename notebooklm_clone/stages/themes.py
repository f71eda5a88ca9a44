"""Themes across a notebook's sources: subjects two or more sources speak of, each with every source's points on it.

A student with several sources wants to see where they meet: the memo's count of dry days next to the review's
account of the tun. A theme is found, not written: a word or two-word phrase the key points of at least two sources
use, that each of those sources speaks of more than in passing (in MIN_MENTIONS of its sentences: "families of
molecules" and "schools and families" share a word, not a subject), and that is not the notebook's whole subject (in
no source's title, in at most MAX_SHARE of the points). Themes are chosen greedily (most sources first, then the
notes' own glossary terms, phrases before single words, most points) until no phrase links two sources' remaining
points. Its label is the phrase as the points write it. Nothing in a theme
is new text, so nothing can be misattributed: every point keeps its own evidence and its own source.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..models import Cited, Theme
from .citations import comparable_text
from .verify import content_words, stem

MAX_THEMES = 6
MAX_SHARE = 0.4  # of all points: a phrase in more of them is the notebook's subject, not a theme within it
MIN_MENTIONS = 2  # sentences of a source that use the phrase, for the source to speak of it
MIN_WORD_CHARS = 4
# words any source uses about anything: no theme is named by them
GENERIC = {stem(w) for w in """result results study studies show shows shown showed use used uses using found find
    finds report reports reported paper papers author authors section table figure fig example examples number numbers
    time times year years case cases way ways part parts make makes made give gives given take takes taken work works
    approach method methods important different several various however include includes including based well known
    called describe describes described data information point points level levels large small total around about
    within without across after before during since under over page pages note notes article review memo document
    source sources text""".split()}


@dataclass
class _Candidate:
    key: tuple[str, ...]  # one or two stems
    label_forms: Counter
    points: set[int]
    glossary: bool


def _phrases(text: str, language: str) -> dict[tuple[str, ...], str]:
    """The point's content words and adjacent content-word pairs: stems -> the form written."""
    words = content_words(text, language)
    kept = {w for w in words if len(w) >= MIN_WORD_CHARS and stem(w) not in GENERIC and not w.isdigit()}
    found: dict[tuple[str, ...], str] = {}
    for w in kept:
        found.setdefault((stem(w),), w)
    sequence = re.findall(r"[^\W\d_]+", comparable_text(text))
    for a, b in zip(sequence, sequence[1:]):
        if a in kept and b in kept:
            found.setdefault((stem(a), stem(b)), f"{a} {b}")
    return found


def shared_themes(points: list[Cited], source_of: Callable[[Cited], str], sentences: dict[str, list[str]],
                  titles: list[str], language: str = "en", glossary: list[str] | tuple[str, ...] = ()) -> list[Theme]:
    """The themes linking two or more sources' points (see the module docstring), in the order chosen; a point is in
    at most one theme. `sentences`: each source's sentences; `titles`: the sources' titles. Fewer than two sources:
    none."""
    owners = [source_of(p) for p in points]
    if len({o for o in owners if o}) < 2:
        return []
    terms = {tuple(stem(w) for w in content_words(t, language)) for t in glossary}
    subject = {stem(w) for title in titles for w in content_words(title, language)}
    mentions = {name: Counter(key for text in texts for key in _phrases(text, language))
                for name, texts in sentences.items()}
    candidates: dict[tuple[str, ...], _Candidate] = {}
    for i, point in enumerate(points):
        for key, form in _phrases(point.text, language).items():
            if any(part in subject for part in key):
                continue
            c = candidates.setdefault(key, _Candidate(key, Counter(), set(), key in terms))
            c.label_forms[form] += 1
            c.points.add(i)
    limit = max(2, int(MAX_SHARE * len(points)))
    candidates = {k: c for k, c in candidates.items() if len(c.points) <= limit}
    themes: list[Theme] = []
    free = set(range(len(points)))

    def linked(c: _Candidate) -> set[int]:
        """The free points of c in sources that speak of it, when there are two such sources or more."""
        mine = {i for i in c.points & free
                if owners[i] and mentions.get(owners[i], Counter())[c.key] >= MIN_MENTIONS}
        return mine if len({owners[i] for i in mine}) >= 2 else set()

    def score(c: _Candidate) -> tuple:
        mine = linked(c)
        return (len({owners[i] for i in mine}), c.glossary, len(c.key), len(mine))

    while len(themes) < MAX_THEMES and candidates:
        best = max(candidates.values(), key=score)  # a candidate linking fewer than two sources scores 0 sources
        chosen = sorted(linked(best))
        if not chosen:
            break
        free -= set(chosen)
        label = max(best.label_forms, key=lambda form: (best.label_forms[form], -len(form)))  # "recover", not "-ed"
        themes.append(Theme(label=label, points=[points[i] for i in chosen],
                            sources=list(dict.fromkeys(owners[i] for i in chosen))))
    return themes


def source_by_page(page_sources: dict[int, tuple[str, int]]) -> Callable[[Cited], str]:
    """A point's source in a notebook: the source of its first evidence page (of its first page without evidence)."""
    def source_of(point: Cited) -> str:
        page = point.evidence[0].page if point.evidence else (point.pages[0] if point.pages else 0)
        return page_sources.get(page, ("", 0))[0]
    return source_of
