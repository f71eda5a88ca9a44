"""Text as it should be spoken: markup and citation markers removed, and (in English) numbers, abbreviations and
symbols written out, because engines read "3.5%" or "Fig. 3" badly or not at all. The same stripped text (numbers
kept) is what subtitles and transcripts show, so stages/mix.py uses `strip_markup` too."""

from __future__ import annotations

import re

from .citations import strip_citation_marks

# --------------------------------------------------------------------------------------------------------------------
# Markup and citations: never read aloud
# --------------------------------------------------------------------------------------------------------------------
_MARKDOWN = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"<[^>\n]+>"), ""),  # html tags
    (re.compile(r"```.*?```", re.DOTALL), ""),  # code blocks
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.MULTILINE), ""),  # quotes
    (re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.MULTILINE), ""),  # list markers
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])"), r"\2"),  # italics
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*$", re.MULTILINE), ""),  # table rules
    (re.compile(r"\s*\|\s*"), ", "),  # table cells
    (re.compile(r"https?://\S+|www\.\S+"), ""),  # URLs are noise when spoken
]


def strip_markup(text: str) -> str:
    """Text as a listener (or a subtitle reader) should get it: no markdown, no citation markers, one line."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    text = strip_citation_marks(text)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    text = re.sub(r"(^|[\s(])[,;:]\s*", r"\1", text)  # a comma left alone where a table or citation was
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"([,;:])(?=[.!?])", "", text)
    return text.strip(" ,;")


# --------------------------------------------------------------------------------------------------------------------
# Numbers, abbreviations and symbols (English)
# --------------------------------------------------------------------------------------------------------------------
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def spell_number(n: int) -> str:
    """1200 -> 'one thousand two hundred' (no 'and', as in American usage)."""
    if n < 0:
        return "minus " + spell_number(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {spell_number(rest)}" if rest else "")
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return f"{spell_number(high)} {name}" + (f" {spell_number(rest)}" if rest else "")
    raise AssertionError(n)  # pragma: no cover


def year_words(n: int) -> str:
    """1999 -> 'nineteen ninety-nine', 2005 -> 'two thousand five', 2020 -> 'twenty twenty',
    1900 -> 'nineteen hundred'."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return spell_number(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{spell_number(high)} hundred"
    return f"{spell_number(high)} {'oh ' + _ONES[low] if low < 10 else spell_number(low)}"


def ordinal_words(n: int) -> str:
    words = spell_number(n)
    head, sep, last = words.rpartition("-" if "-" in words.split(" ")[-1] else " ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}" if sep else last


def decimal_words(text: str) -> str:
    """'3.5' -> 'three point five', '1,200' -> 'one thousand two hundred', '0.05' -> 'zero point zero five'."""
    whole, _, fraction = text.replace(",", "").partition(".")
    words = spell_number(int(whole or "0"))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return words


_ABBREVIATIONS = [
    (r"\be\.\s?g\.(?:,)?", "for example"),
    (r"\bi\.\s?e\.(?:,)?", "that is"),
    (r"\bet al\.", "and colleagues"),
    (r"\betc\.", "et cetera"),
    (r"\bcf\.", "compare"),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bFigs\.", "Figures"),
    (r"\bFig\.", "Figure"),
    (r"\bEqs?\.", "Equation"),
    (r"\bSecs?\.", "Section"),
    (r"\bCh\.", "Chapter"),
    (r"\bTab\.", "Table"),
    (r"\bapprox\.", "approximately"),
    (r"\bDr\.", "Doctor"),
    (r"\bProf\.", "Professor"),
    (r"\bMr\.", "Mister"),
    (r"\bMrs\.", "Missus"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bSt\.", "Saint"),
]
_ABBREVIATIONS = [(re.compile(pattern), words) for pattern, words in _ABBREVIATIONS]

_SYMBOLS = [
    (r"\s*±\s*", " plus or minus "),
    (r"\s*(?:→|->|⇒|=>)\s*", " leads to "),
    (r"\s*(?:←|<-)\s*", " comes from "),
    (r"\s*≈\s*", " approximately "),
    (r"(?<!\w)~\s*(?=\d)", "roughly "),
    (r"\s*~\s*", " "),
    (r"\s*≤\s*", " less than or equal to "),
    (r"\s*≥\s*", " greater than or equal to "),
    (r"\s*≠\s*", " not equal to "),
    (r"(?<=\d)\s*×\s*(?=\d)", " times "),
    (r"\s*&\s*", " and "),
    (r"\s*@\s*", " at "),
    (r"(?<=\d)\s*°C\b", " degrees Celsius"),
    (r"(?<=\d)\s*°F\b", " degrees Fahrenheit"),
    (r"(?<=\d)\s*°", " degrees"),
    (r"(?<=\d)\s*<\s*(?=\d)", " less than "),
    (r"(?<=\d)\s*>\s*(?=\d)", " greater than "),
    (r"(?<=\d)\s*=\s*(?=-?\d)", " equals "),
    (r"\s*=\s*", " equals "),
    (r"(?<=\d)\s*\+\s*(?=\d)", " plus "),
    (r"[*#_|\\^{}]", " "),
]
_SYMBOLS = [(re.compile(pattern), words) for pattern, words in _SYMBOLS]

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MAGNITUDE = r"(?:\s+(?:thousand|million|billion|trillion))?"
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds"}


def _write_out_numbers(text: str) -> str:
    # currency before the number: "$1.5 million" -> "one point five million dollars"
    text = re.sub(rf"([$€£])\s?({_NUM})({_MAGNITUDE})",
                  lambda m: f"{decimal_words(m[2])}{m[3]} {_CURRENCY[m[1]]}", text)
    # ranges of numbers: "4-5", "1990–2000" -> "4 to 5"
    text = re.sub(rf"(?<![\w.])({_NUM})\s?[–—-]\s?({_NUM})(?!\w|\.\d)", r"\1 to \2", text)
    text = re.sub(r"(?<!\w)(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m[1])), text)
    text = re.sub(rf"({_NUM})\s?%", lambda m: f"{decimal_words(m[1])} percent", text)
    text = re.sub(r"(?<![\w.,])-(?=\d)", "minus ", text)
    text = re.sub(r"(?<![\d,.])(1[1-9]\d\d|20\d\d)(s?)(?!\d|[,.]\d)",
                  lambda m: _plural(year_words(int(m[1]))) if m[2] else year_words(int(m[1])), text)
    return re.sub(rf"(?<![\w.]){_NUM}(?![\w])", lambda m: decimal_words(m[0]), text)


def _plural(words: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties' (decades)."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def normalize_for_speech(text: str, language: str = "en") -> str:
    """Text as it should be spoken. Markup and citation markers are always removed; numbers, abbreviations and
    symbols are written out in English (other languages keep them, their engines read digits themselves)."""
    text = strip_markup(text)
    if language.lower().startswith("en"):
        for pattern, words in _ABBREVIATIONS + _SYMBOLS:  # symbols first: "~10%" needs to see the digits
            text = pattern.sub(words, text)
        text = _write_out_numbers(text)
    else:
        text = re.sub(r"[*#_|\\^{}]", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])\1+", r"\1", text)
    return text.strip()
