"""Bytes to text for the text-based readers: UTF-8 or UTF-16 with a BOM as they are, the charset an HTML page
declares, else the most plausible legacy encoding, named in a warning (a wrong guess must never pass unnoticed)."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ..errors import BadInput

# Legacy 8-bit and East Asian encodings tried when a text file is not UTF-8, Windows-1252 first: it wins ties.
LEGACY_ENCODINGS = ("cp1252", "cp1250", "cp1251", "koi8_r", "iso8859_7", "cp932", "euc_jp", "gb18030", "big5",
                    "euc_kr")
DETECTOR_BONUS = 0.1
_SCRIPT_GROUPS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "CJK": "CJK", "HANGUL": "HANGUL"}


def decode_text(data: bytes, path: Path, declared: str | None = None) -> tuple[str, str | None]:
    """(text, warning): UTF-8 (with or without BOM), UTF-16 with a BOM, or the encoding the file declares, as they
    are; anything else is decoded with the most plausible legacy encoding, and the warning names it (a wrong guess
    must never pass unnoticed)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace"), None
    if b"\x00" in data[:4096]:
        raise BadInput(f"{path} is not a text file (binary content)")
    for encoding in filter(None, ("utf-8-sig", declared)):
        try:
            return data.decode(encoding), None
        except UnicodeDecodeError:
            pass
    candidates, detected = list(LEGACY_ENCODINGS), None
    try:
        import charset_normalizer

        found = [match.encoding for match in charset_normalizer.from_bytes(data[:65536])
                 if not match.encoding.startswith("utf")]  # UTF-16/32 only with a BOM: a guess there is mojibake
        candidates, detected = candidates + found, (found or [None])[0]
    except ImportError:  # pragma: no cover - a dependency; the fixed list still works
        pass
    best: tuple[float, int, str, str] | None = None
    for order, encoding in enumerate(dict.fromkeys(candidates)):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        score = _plausibility(text[:20000])
        if encoding == detected and len(text) < len(data):
            # Japanese read as Chinese (or Korean as Japanese) looks as plausible to _plausibility as the right
            # reading; the detector knows which characters are frequent in each, so its multi-byte pick wins ties
            score += DETECTOR_BONUS
        if best is None or score > best[0]:
            best = (score, order, encoding, text)
    if best is None or best[0] < 0.5:
        raise BadInput(f"{path} is not UTF-8 and no known text encoding reads it; convert it to UTF-8 "
                       "(e.g. iconv -f ENCODING -t UTF-8)")
    _, _, encoding, text = best
    return text, (f"{path.name} is not UTF-8; read it as {encoding} (a guess: if the text looks wrong, convert the "
                  "file to UTF-8, e.g. iconv -f ENCODING -t UTF-8)")


_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)


def declared_charset(data: bytes) -> str | None:
    """The encoding an HTML file names in a <meta> tag near its top, if Python knows it. Latin-1 and ASCII mean
    Windows-1252, as browsers read them (its quotes and dashes are where Latin-1 has control codes)."""
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def _plausibility(text: str) -> float:
    """How much `text` looks like real writing: its letters in one script, mostly lower case where the script has
    case, and few control, private-use, half-width or rare CJK-extension characters (the marks of a wrong
    decoding)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    groups: dict[str, int] = {}
    for c in letters:
        first = unicodedata.name(c, "UNKNOWN").split()[0]
        group = _SCRIPT_GROUPS.get(first, first)
        groups[group] = groups.get(group, 0) + 1
    script, count = max(groups.items(), key=lambda item: item[1])
    purity = count / len(letters)
    if script == "LATIN":  # Latin-script languages write mostly unaccented letters; mojibake of others does not
        purity *= min(1.0, sum(c.isascii() for c in letters) / len(letters) / 0.6)
    cased = [c for c in letters if c.islower() or c.isupper()]
    lower = sum(c.islower() for c in cased) / len(cased) if len(cased) >= len(letters) / 2 else 1.0
    rare = sum(1 for c in text if (unicodedata.category(c) in ("Cc", "Co", "Cn") and c not in "\n\r\t\f")
               or "\uff61" <= c <= "\uff9f" or "\u2500" <= c <= "\u259f" or "\u3400" <= c <= "\u4dbf"
               or c >= "\U00020000") / len(text)
    return purity * (0.6 + 0.4 * min(1.0, lower / 0.7)) - 3 * rare

