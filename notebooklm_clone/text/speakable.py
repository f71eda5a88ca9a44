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
    (re.compile(r"</?[A-Za-z][^<>\n]*>"), ""),  # html tags (not "p < 0.05 and q > 1")
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
    # a footnote's number glued to a word's punctuation ("alert,5 and", "landing.5 The"), not "1,5" nor "Fig.3"
    (re.compile(r"(?<=[a-z][,;:])\d{1,2}(?=\s)|(?<=[a-z]{3}\.)\d{1,2}(?=\s+[A-Z])"), ""),
]


# characters of a formula or of code: a line holding one is neither a heading nor a question to say aloud
FORMULA = re.compile(r"[{}=<>~|\\^]")


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
    (r"\bet\s+al\b\.?", "and colleagues"),
    (r"\betc\.", "et cetera"),
    (r"\bcf\.", "compare"),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bFigs\.", "Figures"),
    (r"\bFig\.", "Figure"),
    (r"\b(?:Eqs?\.|Equation)\s*\((\d+[a-z]?)\)", r"Equation \1"),  # "Eq. (4)": the brackets are not spoken
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
    (r"\bpp\.\s*(?=\d)", "pages "),
    (r"\bp\.\s*(?=\d)", "page "),
    (r"§\s*", "Section "),
    (r"\bSt\.", "Saint"),
]
_ABBREVIATIONS = [(re.compile(pattern), words) for pattern, words in _ABBREVIATIONS]


def _power(m: re.Match) -> str:
    """'^2' -> ' squared', '^3' -> ' cubed', '^6' -> ' to the sixth', '^-3' -> ' to the minus three'."""
    sign, exponent = m[1], int(m[2])
    if sign:
        return f" to the minus {spell_number(exponent)}"
    return {2: " squared", 3: " cubed"}.get(exponent, f" to the {ordinal_words(exponent)}")


_SYMBOLS = [
    (r"\bO\(([^()]{1,30})\)", r"big O of \1"),  # O(n log n)
    (r"\s*\^\s*\{?\s*([-−]?)(\d+)(?:\s*\})?", _power),  # x^2, 10^6, 10^{-3}
    (r"\s*\^\s*\{?\s*([A-Za-z])(?:\s*\})?(?!\w)", r" to the \1"),  # 2^n
    (r"(?<![\w/.])(\d+(?:\.\d+)?)\s*/\s*(?=(?:\d+(?:\.\d+)?|[A-Za-z])(?![\w/]))", r"\1 over "),  # 1/T, 3/4
    (r"√\s*", " the square root of "),
    (r"\s*±\s*", " plus or minus "),
    (r"\s*(?:→|->|⇒|=>)\s*", " leads to "),
    (r"\s*(?:←|<-)\s*", " comes from "),
    (r"(?<=[\w)%])\s*≈\s*", " is approximately "),
    (r"\s*≈\s*", " approximately "),
    (r"(?<!\w)~\s*(?=\d)", "roughly "),
    (r"\s*~\s*", " "),
    (r"\s*(?:≤|<=)\s*", " less than or equal to "),
    (r"\s*(?:≥|>=)\s*", " greater than or equal to "),
    (r"\s*(?:≠|!=)\s*", " not equal to "),
    (r"\s*(?:≪|<<)\s*", " much less than "),
    (r"\s*(?:≫|>>)\s*", " much greater than "),
    (r"(?<=\d)\s*×\s*(?=10\b)", " times "),  # 3 × 10^8
    (r"(?<=\d)\s*×\s*(?=\d)", " by "),  # 3×3
    (r"(?<!\w)(\d+)x(\d+)(?!\w)", r"\1 by \2"),  # 2x2
    (r"(?<=\d)\s*×|(?<=\d)x\b", " times"),  # a 10x speed-up
    (r"\s*×\s*", " times "),
    (r"\s*&\s*", " and "),
    (r"\s*@\s*", " at "),
    (r"(?<=\d)\s*°C\b", " degrees Celsius"),
    (r"(?<=\d)\s*°F\b", " degrees Fahrenheit"),
    (r"(?<=\d)\s*°", " degrees"),
    (r"\s*<\s*", " less than "),
    (r"\s*>\s*", " greater than "),
    (r"(?<=\d)\s*=\s*(?=-?\d)", " equals "),
    (r"\s*=\s*", " equals "),
    (r"(?<=\d)\s*\+\s*(?=\d)", " plus "),
    (r"[*#_|\\^{}]", " "),
]
_SYMBOLS = [(re.compile(pattern), words) for pattern, words in _SYMBOLS]

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MAGNITUDE = r"(?:\s+(?:thousand|million|billion|trillion)\b|(?:k|m|bn|M|B)\b)?"
_MAGNITUDE_WORDS = {"k": " thousand", "m": " million", "M": " million", "bn": " billion", "B": " billion"}
# symbol: (one, many, one hundredth, hundredths)
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", ""),
             "₹": ("rupee", "rupees", "", "")}
# unit: (one, many). Units that are also ordinary letters or words ("s", "m", "h", "g", "min") need a space
# before them ("5 s", not "1990s"); the others may be glued to the number ("10ms").
_UNITS = {
    "ms": ("millisecond", "milliseconds"), "µs": ("microsecond", "microseconds"),
    "ns": ("nanosecond", "nanoseconds"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "m/s": ("meter per second", "meters per second"), "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "µm": ("micrometer", "micrometers"), "nm": ("nanometer", "nanometers"), "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"), "µg": ("microgram", "micrograms"), "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"), "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"), "mV": ("millivolt", "millivolts"), "kV": ("kilovolt", "kilovolts"),
    "V": ("volt", "volts"), "mA": ("milliamp", "milliamps"), "mAh": ("milliamp hour", "milliamp hours"),
    "dB": ("decibel", "decibels"), "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"), "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"),
    "PB": ("petabyte", "petabytes"), "kbps": ("kilobit per second", "kilobits per second"),
    "Mbps": ("megabit per second", "megabits per second"), "Gbps": ("gigabit per second", "gigabits per second"),
    "fps": ("frame per second", "frames per second"), "px": ("pixel", "pixels"),
}
_SPACED_UNITS = {"s": ("second", "seconds"), "sec": ("second", "seconds"), "min": ("minute", "minutes"),
                 "h": ("hour", "hours"), "hrs": ("hour", "hours"), "m": ("meter", "meters"),
                 "g": ("gram", "grams")}
_UNITS.update({name.replace("µ", "μ"): words for name, words in _UNITS.items() if "µ" in name})  # Greek mu too


def _alternatives(names) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_UNIT = re.compile(rf"(?<![\w.])({_NUM})(?:\s?({_alternatives(_UNITS)})|\s({_alternatives(_SPACED_UNITS)}))(?![\w/])")


def _unit_words(m: re.Match) -> str:
    one, many = _UNITS[m[2]] if m[2] else _SPACED_UNITS[m[3]]
    return f"{decimal_words(m[1])} {one if m[1] == '1' else many}"


def _money_words(m: re.Match) -> str:
    """'$1' -> 'one dollar', '£3.50' -> 'three pounds fifty pence', '$1.5 million' / '$2bn' -> '... dollars'."""
    one, many, hundredth, hundredths = _CURRENCY[m[1]]
    amount, magnitude = m[2], m[3].strip()
    if magnitude:
        return f"{decimal_words(amount)} {_MAGNITUDE_WORDS.get(magnitude, magnitude).strip()} {many}"
    whole, _, cents = amount.replace(",", "").partition(".")
    words = f"{spell_number(int(whole))} {one if int(whole) == 1 else many}"
    if len(cents) == 2 and hundredth:
        change = f"{spell_number(int(cents))} {hundredth if int(cents) == 1 else hundredths}"
        return change if int(whole) == 0 else f"{words} {change}" if int(cents) else words
    return f"{decimal_words(amount)} {many}" if cents else words


def _scientific(m: re.Match) -> str:
    """'1e-3' -> 'one times ten to the minus three', '2.5e6' -> 'two point five times ten to the sixth'."""
    mantissa, sign, exponent = m[1], m[2], int(m[3])
    power = f"minus {spell_number(exponent)}" if sign in ("-", "−") else ordinal_words(exponent)
    return f"{decimal_words(mantissa)} times ten to the {power}"


def _write_out_numbers(text: str) -> str:
    # currency before the number: "$1.5 million" -> "one point five million dollars"
    text = re.sub(rf"([$€£¥₹])\s?({_NUM})({_MAGNITUDE})", _money_words, text)
    text = re.sub(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([-+−]?)(\d+)(?!\w)", _scientific, text)
    # ranges of numbers: "4-5", "1990–2000" -> "4 to 5"
    text = re.sub(rf"(?<![\w.])({_NUM})\s?[–—-]\s?({_NUM})(?!\w|\.\d)", r"\1 to \2", text)
    text = _UNIT.sub(_unit_words, text)
    text = re.sub(r"(?<!\w)(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m[1])), text)
    text = re.sub(rf"({_NUM})\s?%", lambda m: f"{decimal_words(m[1])} percent", text)
    text = re.sub(r"(?<![\w.,])-(?=\d)", "minus ", text)
    text = re.sub(r"(?<![\d,.])(1[1-9]\d\d|20\d\d)(s?)(?!\d|[,.]\d)",
                  lambda m: _plural(year_words(int(m[1]))) if m[2] else year_words(int(m[1])), text)
    return re.sub(rf"(?<![\w.]){_NUM}(?![\w])", lambda m: decimal_words(m[0]), text)


def _plural(words: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties' (decades)."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


# Formulas nobody can follow when read symbol by symbol ("∑_{i=1}^{n} x_i", "$\\alpha_t$"): dropped, in every
# language. "x^2", "10^{-3}" and "x_i" are not debris: the English rules read them.
_MATH_DEBRIS = [
    re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)"),  # display math
    re.compile(r"\$(?=[^\s\d$])[^$]{1,200}?(?<=\S)\$"),  # $inline$ math (not "$5 and $10")
    # a "word" holding a big operator, a LaTeX command or braced sub/superscripts (up to its closing punctuation),
    # with the subscripted operand that follows it ("∑_{i} x_i")
    re.compile(r"[^\s(]*?(?:[∑∏∫∮∇∂]|\\[A-Za-z]+|_\{[^\s}]*\}|\^\{(?![-−]?\w+\})[^\s}]*\})"
               r"(?:\S*\s+[A-Za-z]\w?_(?:\{[^\s}]*\}|\w+))?\S*?(?=[.,;:!?)]*(?:\s|$))"),
]


def normalize_for_speech(text: str, language: str = "en") -> str:
    """Text as it should be spoken. Markup and citation markers are always removed; numbers, abbreviations and
    symbols are written out in English (other languages keep them, their engines read digits themselves)."""
    text = strip_markup(text)
    for pattern in _MATH_DEBRIS:
        text = pattern.sub("", text)
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
