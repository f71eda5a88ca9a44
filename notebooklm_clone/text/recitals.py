"""Recitals: the "WHEREAS ...;" / "ATTENDU QUE ...;" clauses of resolutions, minutes and rules, read as statements."""

from __future__ import annotations

import re

# the formula opening each recital of a resolution or a rule ("WHEREAS the rear portion ... is in poor condition;"):
# a note or an answer says the recital, not the formula, and ends it with a stop
RECITAL = re.compile(r"^(?:(?:ATTENDU|Attendu|CONSIDÉRANT|Considérant) QU[’']|(?:WHEREAS|Whereas|ATTENDU QUE|"
                     r"ATTENDU|Attendu que|CONSIDÉRANT QUE|Considérant que|CONSIDERANDO QUE|Considerando que)"
                     r"[,\s]+)(?=\w)")  # "ATTENDU QU'aucune opposition ..." loses "QU'" too
_RECITAL_END = re.compile(r"\s*(?:;|,)\s*(?:and|et|y)?\s*$")
# "ATTENDU la demande ..." recites a noun, not a clause: without its formula it has no verb, so the formula stays
_NOUN_RECITAL = re.compile(r"^(ATTENDU|CONSIDÉRANT|CONSIDERANDO)\s+(?!qu(?:e\b|['’]))(?=\w)", re.IGNORECASE)


def readable(text: str) -> str:
    """A quoted sentence as a note reads it: a recital's opening formula and its closing ";" (or "; and") left out,
    and the "et que" of its second clause read as "et"; a recited noun keeps its formula ("Attendu la demande ...").
    A formula in lower case is one only where the sentence closes like a recital ("Whereas the first model overfits,
    the second generalizes." is a contrast)."""
    noun = _NOUN_RECITAL.match(text)
    if noun:
        return _RECITAL_END.sub(".", text[:noun.end(1)].capitalize() + text[noun.end(1):])
    formula = RECITAL.match(text)
    if formula and (formula.group().strip(" ,").isupper() or _RECITAL_END.search(text)):
        bare = text[formula.end():]
        bare = bare[:1].upper() + bare[1:]
        if not re.search(r"\bque?\b", bare.split(" et qu")[0]):
            bare = re.sub(r"\bet qu(?:e\b|[’'](?=\w))\s*", "et ", bare, count=1)
        return _RECITAL_END.sub(".", bare)
    return _RECITAL_END.sub(".", text) if text.rstrip().endswith(";") else text
