"""Page citations as the outputs print them, and the text comparisons evidence.py and verify.py share: one
normal form for text, English spellings of numbers, and the words too common to tell statements apart."""

from __future__ import annotations

import re
import unicodedata


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
_UNITS = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def comparable_text(text: str, lower: bool = True) -> str:
    """Lowercase (unless `lower` is False: the same tokens with their capitals), NFKC, one kind of dash and quote,
    soft hyphens removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = (text.lower() if lower else text).replace("\u00ad", "")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"[\u2018\u2019\u201b`]", "'", text).replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


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


def format_pages(pages: list[int] | tuple[int, ...], sources: dict[int, tuple[str, int]] | None = None) -> str:
    """(p. 4), (pp. 4-5), (pp. 2, 7-9): the citation every bullet ends with. With `sources` (a notebook's page ->
    (source, page in it)): (memo.pdf, p. 1; paper.pdf, pp. 3-4)."""
    if sources:
        by_source: dict[str, list[int]] = {}
        for page in sorted(set(pages)):
            name, local = sources.get(page, ("", page))
            by_source.setdefault(name, []).append(local)
        parts = [f"{name}, {format_pages(local)[1:-1]}" if name else format_pages(local)[1:-1]
                 for name, local in by_source.items()]
        return f"({'; '.join(parts)})" if parts else ""
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
