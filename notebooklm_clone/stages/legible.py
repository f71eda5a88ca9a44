"""Whether a sentence reads as written: a student can take it as a note, a speaker can say it. Extraction leaves
misread symbols, unbalanced brackets, dot leaders, the tails of sentences a page or column break cut, sentences a
stripped citation left dangling, formulas that lost their superscripts, footnotes and reference entries; and a
document's roadmap ("The rest of this paper ...") and labels ("Keywords: ...") say nothing about its subject."""

from __future__ import annotations

import re

from .verify import stopwords

# who wrote it and where they work: front matter, no note
AFFILIATION = re.compile(r"\b(?:professor|lecturer|ph\.?\s?d|fellow|university|universit[éy]|institute|department|college|"
                         r"laborator(?:y|ies)|school of|faculty|author|correspond\w*|e-?mail)\b", re.IGNORECASE)

# "~5" is "about 5"; "A10~ Vx" or "t~ (f(j)" is a misread symbol
_OCR_TILDE = re.compile(r"~(?!\s?\d+(?:[.,]\d+)?\b)")
_BRACKETS = ("()", "[]", "{}")
_LEADERS = re.compile(r"\.{4,}|\u2026{2,}|(?:\. ){3,}")  # a table of contents' or a cost table's dot leaders
_ENUMERATOR = re.compile(r"(?:^|\s)(?:\d{1,2}|[a-z]|[ivx]{1,4})$")  # "We show that: 1) ..., 2) ..."


def _balanced(text: str) -> bool:
    """Every bracket closes what it opened; a list's "1)" or "b)" opens nothing."""
    for opening, closing in _BRACKETS:
        depth = 0
        for at, char in enumerate(text):
            if char == opening:
                depth += 1
            elif char == closing and depth:
                depth -= 1
            elif char == closing and not _ENUMERATOR.search(text[:at]):
                return False
        if depth:
            return False
    return True


# a sentence left dangling once its citation is gone: "... appears in.", "... as in.", "... such as and.", and inside
# it: "Unlike VGG-16 used in, our ResNet ...", "based on the RPN framework of with a few modifications"
_DANGLING = re.compile(r"(?:\s(?:of|by|from|and|see|the|an|following|de|du|des|et|und|von)|(?:\)|\b(?:as|appears?|practice|"
                       r"proposed|described|introduced|used|given|found|shown|reported|proved))\s+in)[.,]\s*$"
                       r"|\sthe[,;]\s|\b(?:as|used|proposed|described|introduced|shown|reported)\s+in,\s"
                       r"|(?<!instead )(?<!because )(?<!ahead )(?<!out )\bof\s+(?:with|of|by|for|on|to|"
                       r"in(?!\s+(?:vitro|vivo|situ|silico|vacuo)))\b(?!-)", re.I)
# a reference list's entry: "McCARTHY, J. Towards ...", "DE BAKKER, J. W. Axiomatics ..."
_REFERENCE_ENTRY = re.compile(r"^[A-Z][\w'\-]+(?:\s[A-Z][\w'\-]+)?,\s+(?:[A-Z]\.\s?){1,3}(?:,|\s+[A-Z])")


_FLATTENED = re.compile(r"[\w)]\u2212[\w(]")  # a math minus glued between terms: an exponent set inline
_FOOTNOTE = re.compile(r"^\d{1,2}(?=[A-Z][a-z])")  # "3We cannot describe ...": a footnote, away from its context


def legible(text: str, language: str) -> bool:
    """Text a student can read as written: no misread symbol, brackets that close, no dot leaders, not the tail of a
    sentence ("is that they give ...", "altitude and airspeed, and would be ..."; "x is a variable" is whole) nor one
    whose citation left it dangling ("... appears in."), no formula that lost its superscripts ("e−x)−1", "10−4"),
    no footnote (its marker glued on: "3We cannot ..."; set apart from the text it annotates) and no entry of a
    reference list."""
    first = text.split(maxsplit=1)[0].strip("\"'\u201c\u2018(") if text.split() else ""
    return not _OCR_TILDE.search(text) and _balanced(text) and not _LEADERS.search(text) \
        and not (first.islower() and (first in stopwords(language) or len(first) > 1 and first.isalpha())) \
        and not _DANGLING.search(text) and not _FLATTENED.search(text) and not _FOOTNOTE.match(text) \
        and not _REFERENCE_ENTRY.match(text)


# the document's roadmap: "Below, we describe ...", "Sections 3.1-3.4 are sorted ...", "The rest of this paper ...",
# and its labels ("Keywords: data cleaning, data tidying, ...")
ROADMAP = re.compile(r"^(?:(?:below|above|here|next|in (?:this|the next|the following) (?:section|chapter|part)),? we "
                     r"(?:describe|present|discuss|outline|review|summari[sz]e|detail)|(?:sub)?sections? \d[\d.]*"
                     r"(?:\s*(?:-|–|and|to)\s*\d[\d.]*)? (?:is|are|describes?|presents?|discuss(?:es)?|introduces?|"
                     r"covers?|turns?|concludes?)\b|the (?:rest|remainder) of (?:this|the) (?:paper|article|report|"
                     r"chapter)|this (?:paper|article|report) is (?:organi[sz]ed|structured)|(?:keywords?|key words|"
                     r"index terms|mots[- ]cl[ée]s|schlüsselwörter|palabras clave)\s*[:.—–-])", re.IGNORECASE)
