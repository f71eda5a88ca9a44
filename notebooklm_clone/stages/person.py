"""Who speaks: the hosts speak of the authors in the third person, never as them ("We dried 120 animals" is said as
"The authors dried 120 animals", "I call this data tidying" as "The author calls this data tidying")."""

from __future__ import annotations

import re

from ..text.lang import language_code

_FIRST_PERSON = re.compile(r"(?<![Ll]et )\b(?:[Ww]e|[Oo]urs|[Oo]ur|[Oo]urselves|us)\b(?!')")
_THIRD = {"we": ("the authors", "they"), "our": ("the authors'", "their"), "ours": ("the authors'", "theirs"),
          "ourselves": ("the authors themselves", "themselves"), "us": ("the authors", "them")}


def third_person(text: str, language: str) -> str:
    """The authors' "we" as the hosts say it: "the authors" the first time in a sentence (a "they" alone would have
    no one to refer to), "they" after that; a single author's "I" and "my" as "the author" and "the author's", the
    verb agreeing (English only; other languages are asked to in the prompt)."""
    if language_code(language) != "en":
        return text
    text = _FIRST_SINGULAR.sub(_the_author, _MY.sub(_the_authors, text))

    def sentence(part: str) -> str:
        seen = []

        def swap(match: re.Match) -> str:
            word = match.group(0)
            first, later = _THIRD[word.lower()]
            said = later if seen else first
            seen.append(word)
            return said[:1].upper() + said[1:] if word[:1].isupper() else said
        return _FIRST_PERSON.sub(swap, part)
    text = "".join(sentence(part) for part in re.split(r"((?<=[.!?])\s+)", text))
    return _SINGULAR_VERB.sub(_plural_verb, text)  # "How does the authors ..."


def _plural_verb(match: re.Match) -> str:
    verb = _PLURAL_OF[match.group(1).lower()]
    return (verb.capitalize() if match.group(1)[:1].isupper() else verb) + match.group(2)


_SINGULAR_VERB = re.compile(r"\b(does|has|is|was)(\s+the authors\b)(?!['’])", re.IGNORECASE)
_PLURAL_OF = {"does": "do", "has": "have", "is": "are", "was": "were"}


# a single author's "I", with an adverb maybe, before the verb it goes with; "Table I", "Experiment I" are numerals
_FIRST_SINGULAR = re.compile(r"\bI ((?:also|often|always|never|still|first|then|now|just|only|usually|simply|"
                             r"briefly|strongly|recently|previously|currently|hereby) )?([a-z]+)\b")
_MY = re.compile(r"\b(?:[Mm]y|[Mm]yself|(?<=\s)me)\b")
_MODALS = set("can could will would shall should may might must".split())
_PAST = set("was had did found made thought took saw wrote began chose got gave knew left led met ran said sent set "
            "showed spent told understood built came felt heard kept lost meant paid put read sold stood won".split())
_IRREGULAR = {"am": "is", "have": "has", "do": "does", "go": "goes"}
_NO_VERBS = set("we the a an and or of in to with is are were for on at by from that this it as".split())
# capitalised words that may open a sentence before "I" ("Then I found ..."); any other one names a numeral's thing
_OPENERS = set("then so here there now first finally when if as since because although thus hence today recently in "
               "at and but yet still also".split())


def _the_author(match: re.Match) -> str:
    adverb, verb = match.group(1) or "", match.group(2)
    before = re.search(r"(\S+)\s*$", match.string[:match.start()])
    word = before.group(1).strip("\"'“‘(") if before else ""
    if verb in _NO_VERBS or (word[:1].isupper() and word.lower() not in _OPENERS and not word.endswith((".", "!", "?"))):
        return match.group(0)
    if verb in _MODALS or verb in _PAST or verb.endswith("ed"):
        said = verb
    elif verb in _IRREGULAR:
        said = _IRREGULAR[verb]
    elif re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        said = verb + "es"
    elif re.search(r"[^aeiou]y$", verb):
        said = verb[:-1] + "ies"
    else:
        said = verb + "s"
    lead = "the author" if word and not word.endswith((".", "!", "?")) else "The author"
    return f"{lead} {adverb}{said}"


def _the_authors(match: re.Match) -> str:
    word = match.group(0)
    said = {"my": "the author's", "myself": "the author", "me": "the author"}[word.lower()]
    return said[:1].upper() + said[1:] if word[:1].isupper() else said
