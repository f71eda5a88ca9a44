"""Citation checking: a cited term or number must appear on the page it cites.

Small models cite the wrong page now and then. Every item that carries pages is checked against the document's own
page text: kept when its anchors (a term, the numbers in it, or else its content words) are on the cited pages, moved to
the nearest page that has them, or dropped when no page does. The counts go into report.json.
"""

from __future__ import annotations

import re
import unicodedata

from ..models import CitationReport, Document

STOPWORDS = frozenset(
    """
    about above after again against also although among another because been before being below between both could
    does doing down during each either enough every from further have having here however into itself just least less
    like made make many might more most much must neither never often only other others over same several should since
    some such than that their them themselves then there these they this those through thus together under until upon
    very was were what when where whether which while whom whose will with within without would your yours also uses
    used using shows show paper study section figure table page work results result based given method approach
    """.split()
)
MIN_KEYWORD_SHARE = 0.5  # share of an item's content words that must be on a page for keyword-only items
MAX_KEYWORDS = 8
STEM = 5  # content words match on their first 5 letters ("produces" ~ "produced")

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_UNITS = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD = re.compile(r"[^\W\d_]{4,}")


def comparable_text(text: str) -> str:
    """Lowercase, NFKC, one kind of dash and quote, soft hyphens removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u00ad", "")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"[\u2018\u2019\u201b`]", "'", text).replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def numbers_in(text: str) -> list[str]:
    """Numbers worth checking: two or more digits, or a decimal. Single digits are on nearly every page."""
    found = []
    for raw in _NUMBER.findall(text):
        number = raw.rstrip(",").replace(",", "")
        digits = sum(ch.isdigit() for ch in number)
        if (digits >= 2 or "." in number) and number not in found:
            found.append(number)
    return found


def number_spellings(number: str) -> list[str]:
    """English spellings of a whole number from 10 to 99: prose writes "eleven tuns" where a model's note says 11."""
    if not number.isdigit() or not 10 <= int(number) <= 99:
        return []
    tens, unit = divmod(int(number), 10)
    if tens == 1:
        return [_TEENS[unit]]
    if unit == 0:
        return [_TENS[tens - 2]]
    return [f"{_TENS[tens - 2]}-{_UNITS[unit - 1]}", f"{_TENS[tens - 2]} {_UNITS[unit - 1]}"]


def keywords_in(text: str) -> list[str]:
    words = []
    for word in _WORD.findall(comparable_text(text)):
        stem = word[:STEM]
        if word not in STOPWORDS and stem not in words:
            words.append(stem)
    return words[:MAX_KEYWORDS]


def format_pages(pages: list[int] | tuple[int, ...]) -> str:
    """(p. 4), (pp. 4-5), (pp. 2, 7-9): the citation every bullet ends with."""
    pages = sorted(set(pages))
    if not pages:
        return ""
    runs: list[list[int]] = []
    for page in pages:
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]
    return f"(p. {parts[0]})" if len(pages) == 1 else f"(pp. {', '.join(parts)})"


class CitationChecker:
    """Checks items against one document's page text; keeps a running CitationReport."""

    def __init__(self, document: Document):
        self.page_count = document.page_count
        self._text = {p: comparable_text(document.page_text(p)) for p in range(1, document.page_count + 1)}
        self._text_nocomma = {p: t.replace(",", "") for p, t in self._text.items()}
        self._stems = {p: {w[:STEM] for w in _WORD.findall(t)} for p, t in self._text.items()}
        self.report = CitationReport()

    # -- what supports an item on a set of pages

    def _has_phrase(self, phrase: str, pages: list[int]) -> bool:
        phrase = comparable_text(phrase)
        if not phrase:
            return True
        candidates = [phrase]
        if phrase.endswith("s") and len(phrase) > 4:
            candidates.append(phrase[:-1])  # "transformers" in notes, "Transformer" on the page
        return any(c in self._text.get(p, "") for p in pages for c in candidates)

    def _has_number(self, number: str, pages: list[int]) -> bool:
        digits = rf"(?<![\d.]){re.escape(number)}(?!\d)"
        # "forty" must not match the "forty" of "forty-two"
        words = [rf"\b{w}\b(?![-\s](?:{'|'.join(_UNITS)})\b)" if w in _TENS else rf"\b{w}\b"
                 for w in number_spellings(number)]
        pattern = re.compile("|".join([digits, *words]))
        return any(pattern.search(self._text_nocomma.get(p, "")) for p in pages)

    def _keyword_share(self, stems: list[str], pages: list[int]) -> float:
        if not stems:
            return 1.0
        have = set().union(*(self._stems.get(p, set()) for p in pages))
        return sum(s in have for s in stems) / len(stems)

    def supports(self, pages: list[int], *, phrases: list[str], numbers: list[str], stems: list[str]) -> bool:
        pages = [p for p in pages if 1 <= p <= self.page_count]
        if not pages:
            return False
        if phrases or numbers:
            return all(self._has_phrase(x, pages) for x in phrases) and all(self._has_number(n, pages) for n in numbers)
        return self._keyword_share(stems, pages) >= MIN_KEYWORD_SHARE

    # -- checking and fixing

    def check(self, text: str, pages: list[int], *, anchor: str | None = None, label: str = "") -> list[int] | None:
        """The pages to cite for `text` (the cited ones, or the nearest that hold its anchors), or None to drop it.

        Anchors: `anchor` when given (a glossary term), else the numbers in the text, else its content words.
        """
        self.report.checked += 1
        phrases = [anchor] if anchor else []
        numbers = [] if anchor else numbers_in(text)
        stems = [] if (anchor or numbers) else keywords_in(text)
        cited = sorted({p for p in pages if 1 <= p <= self.page_count})
        kwargs = dict(phrases=phrases, numbers=numbers, stems=stems)
        if cited and self.supports(cited, **kwargs):
            self.report.ok += 1
            if len(cited) > 1:  # small models cite every page they saw: keep the ones that hold it on their own
                alone = [p for p in cited if self.supports([p], **kwargs)]
                return alone or cited
            return cited
        found = self._nearest(cited or [1], kwargs)
        if found is None:
            self.report.dropped += 1
            if len(self.report.dropped_items) < 20:
                self.report.dropped_items.append(f"{label}: {text[:100]} {format_pages(pages)}".strip(": "))
            return None
        self.report.fixed += 1
        if len(self.report.fixed_items) < 20:
            moved = f"{label}: {text[:80]} {format_pages(pages)} -> {format_pages(found)}"
            self.report.fixed_items.append(moved.strip(": "))
        return found

    def _nearest(self, cited: list[int], kwargs: dict) -> list[int] | None:
        def distance(page: int) -> int:
            return min(abs(page - c) for c in cited)

        order = sorted(range(1, self.page_count + 1), key=lambda p: (distance(p), p))
        for page in order:
            if self.supports([page], **kwargs):
                return [page]
        for page in order:  # an item spanning a page break
            if page < self.page_count and self.supports([page, page + 1], **kwargs):
                return [page, page + 1]
        return None
