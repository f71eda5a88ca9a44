"""Terms a document defines, found without a model: the glossary still lists what the document names and explains,
in its own words, when the model's definitions do not hold (a small model copies or garbles them: on a 9-page paper
4 of the 1.5B model's 36 terms survived the check).

Three forms, each resting on the sentence that gives it:
- an abbreviation after its long form, the initials spelling it: "convolutional neural networks (CNNs)" -> CNNs,
  defined as "convolutional neural networks";
- a name the document gives: "a regularization method called dropout", "a requirement known as the cold chain";
- "X is a/an ...": "ImageNet is a dataset of over 15 million labeled images ...".
The last two are defined by their sentence, quoted, when it is short enough to read as a definition.
"""

from __future__ import annotations

import re

from ..models import SourceSentence, Term
from .grounding import Source, pages_of_evidence, quotable, quote_text
from .themes import GENERIC
from .verify import stem, stopwords

MAX_DEFINED = 30  # entries found this way per document, in reading order
MAX_DEFINING_WORDS = 50  # a longer sentence is a passage, not a definition
_WORD = r"[^\W\d_][\w-]*"
ABBREVIATION = re.compile(rf"((?:{_WORD}\s+){{0,6}}{_WORD})\s+\(([A-Z][A-Za-z0-9]{{1,9}}?)(s?)\)")
NAMED = re.compile(rf"\b(?:called|termed|known as|referred to as|dubbed)\s+(?:the\s+|an?\s+)?[\"“'‘]?"
                   rf"({_WORD}(?:\s+{_WORD}){{0,3}})")
# "X is a ...", not "X is a key challenge" (a judgement of X, not what it is)
IS_A = re.compile(rf"^(?:An?\s+|The\s+)?({_WORD}(?:\s+{_WORD}){{0,2}})\s+(?:is|are)\s+an?\s+(?!(?:different|key|major|"
                  rf"big|good|great|important|common|central|critical|crucial|serious|difficult|long|short|new|"
                  rf"small|large|few|lot|number|part|result|problem|challenge|issue|way to|bit|little)\b)")
EXPLAINING = re.compile(r"[\W]*(?:\[[\d,\s\u2013-]+\][\W]*)?(?:consists? of|is|are|was|were|refers? to|means|denotes|"
                        r"(?:which|that) (?:is|are|consists? of|refers? to|means))\b", re.IGNORECASE)
_NOT_TERMS = set("""this that these those it its there here our we they their his her each such one another which
    what following above below first second third fourth last former latter""".split())


def long_form(words: list[str], letters: str, language: str) -> str:
    """The words before an abbreviation whose initials (hyphenated parts too; small words may be skipped, as in
    "Freedom of Information Act (FOIA)") spell it, or ""."""
    letters, stop = letters.lower(), stopwords(language)
    for n in range(1, len(words) + 1):
        tail = words[-n:]
        if tail[0].lower() in stop:
            continue
        every = "".join(part[0] for w in tail for part in w.split("-") if part).lower()
        content = "".join(part[0] for w in tail if w.lower() not in stop for part in w.split("-") if part).lower()
        whole = "".join(w[0] for w in tail).lower()
        if letters in (every, content, whole):
            return " ".join(tail)
    return ""


def _name(words: list[str], language: str) -> str:
    """A name given in the text, up to its first function word."""
    stop, kept = stopwords(language), []
    for word in words:
        if word.lower() in stop:
            break
        kept.append(word)
    return " ".join(kept)


def _a_term(term: str) -> bool:
    words = term.split()
    return bool(words) and words[0].lower() not in _NOT_TERMS and not all(stem(w) in GENERIC for w in words)


def sentence_terms(sentence: SourceSentence, language: str) -> list[tuple[str, str]]:
    """(term, definition) pairs a sentence gives; a definition of "" means the sentence itself."""
    text, found = sentence.text, []
    for match in ABBREVIATION.finditer(text):
        full = long_form(match.group(1).split(), match.group(2), language)
        if full and len(full.split()) >= 2:
            found.append((match.group(2) + match.group(3), full))
    short = len(text.split()) <= MAX_DEFINING_WORDS
    for match in NAMED.finditer(text) if short else ():
        name = _name(match.group(1).split(), language)
        if _a_term(name) and not any(name.lower() in f.lower() for _, f in found):
            found.append((name, ""))
    opening = IS_A.match(text) if short and language == "en" else None
    if opening and _a_term(opening.group(1)) and _name(opening.group(1).split(), language) == opening.group(1):
        term = opening.group(1)
        # no function word in it ("The result of melting is a ..."); a single capitalised word is a name or the
        # sentence's first word ("Hammer is a Fellow at ...", "Heat is a ..."), unless written like a term
        # ("ImageNet", "QRH")
        if len(term.split()) > 1 or not term[:1].isupper() or re.search(r"[A-Z0-9]", term[1:]):
            found.append((term, ""))
    return found


def explains(term: str, text: str) -> bool:
    """Whether the words after the term say what it is ("called dropout [10], consists of setting ..."), not what
    it did ("called dropout that proved to be very effective")."""
    at = text.lower().find(term.lower())
    return at >= 0 and bool(EXPLAINING.match(text[at + len(term):]))


def defined_terms(source: Source, sentences: list[SourceSentence]) -> list[Term]:
    """The terms the sentences define, each once (the first that explains it, else the first), quoted from the
    document, in reading order."""
    terms: dict[str, Term] = {}
    for sentence in sentences:
        if not quotable(sentence, source.language):
            continue
        for term, definition in sentence_terms(sentence, source.language):
            earlier = terms.get(term.lower())
            if earlier is not None and (definition or explains(term, earlier.definition)
                                        or not explains(term, sentence.text)):
                continue
            if earlier is None and len(terms) >= MAX_DEFINED:
                continue
            evidence = source.evidence([sentence.id])
            terms[term.lower()] = Term(term=term, definition=definition or quote_text(evidence),
                                       pages=pages_of_evidence(evidence), evidence=evidence, grounding="quoted")
    return list(terms.values())
