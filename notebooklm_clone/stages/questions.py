"""Whether a host question fits the answer after it: it asks what the answer says, brings nothing the evidence lacks
(no number or name of its own: a question may not smuggle in a fact) and does not read the answer out first.

The model writes a question per note and the notes carry their own questions; many a small model's question asks
something broader than the note ("How do tardigrades survive extreme conditions?" before one protein's role), and
such a question is not asked.
"""

from __future__ import annotations

import re

from ..text.speakable import FORMULA
from ..text.split import count_words
from .grounding import Source
from .legible import ROADMAP, legible
from .script_figures import is_impersonation, is_meta_talk
from .turns import shingles
from .verify import QUANTITY, content_stems, gives_what_is_asked, names_in, numbers_with_units

QUESTION_IN_ANSWER = 0.5  # share of a question's content words the answer must hold (it answers that question)
QUESTION_IN_EVIDENCE = 0.6  # ... and the note's evidence (it smuggles in nothing)
MAX_QUESTION_WORDS = 30
# words a speaker adds about the show or the source rather than its content; not asked of the evidence
_SHOW_WORDS = {"author", "authors", "researcher", "researchers", "paper", "document", "study", "report", "article",
               "memo", "text", "findings", "finding", "work"}
# "this dataset", "these results", "your network": what they point to is outside a card ("the document" is not)
_POINTS_OUTSIDE = re.compile(r"\b(?:(?:this|these|those|such)\s+(?!(?:paper|study|article|work|document|report|memo|"
                             r"chapter|book|text)s?\b)[^\W\d_]{3,}|your)\b", re.IGNORECASE)
_ORDINAL = re.compile(r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)\b", re.IGNORECASE)
_OPEN_QUESTION = re.compile(r"^\W*(?:what|which|who|whom|whose|where|when|how|why|que|qu['’]|quel|quelle|quels|"
                            r"quelles|qui|où|quand|comment|pourquoi|combien|wer|wie|wo|wann|warum|welche)\b",  # not "was": English
                            re.IGNORECASE)
ECHO_SHARE = 0.6  # of the answer's 5-word shingles an open question may hold before it only reads the answer out
_ASKS_DEFINITION = re.compile(r"^\W*what (?:is|are) (?:an? |the )?([^?]{2,40}?)\s*\?$", re.IGNORECASE)


def _without_show_words(sentence: str, evidence: str) -> str:
    have = evidence.lower()
    return " ".join(w for w in sentence.split()
                    if re.sub(r"\W", "", w.lower()) not in _SHOW_WORDS or re.sub(r"\W", "", w.lower()) in have)


def _brings_nothing_new(text: str, evidence: str, language: str) -> bool:
    """No number and no name the evidence lacks (a question may not smuggle in a fact)."""
    lowered = evidence.lower()
    numbers = re.findall(r"\d+(?:[.,]\d+)?", text)
    if any(n not in evidence for n in numbers):
        return False
    return all(name.lower() in lowered for name in names_in(text, language))


def share_in(text: str, other: str, language: str) -> float:
    """Share of `text`'s content words (show words aside) that `other` holds."""
    stems = content_stems(_without_show_words(text, ""), language)
    have = set(content_stems(other, language))
    return sum(x in have for x in stems) / len(stems) if stems else 0.0


def asks_for(question: str, answer: str, evidence: str, language: str) -> bool:
    """Whether `answer` answers `question`: a question, short, most of its words in the answer and in the evidence,
    no number or name the evidence lacks, a number in the answer when it asks how many, a reason when it asks why,
    and no formula or debris to read aloud."""
    return (question.endswith("?") and count_words(question) <= MAX_QUESTION_WORDS
            and share_in(question, answer, language) >= QUESTION_IN_ANSWER
            and share_in(question, evidence, language) >= QUESTION_IN_EVIDENCE
            and _brings_nothing_new(question, evidence, language)
            and (not QUANTITY.match(question) or bool(re.search(r"\d", answer)))
            and gives_what_is_asked(question, answer)
            and defines_what_it_asks(question, answer)
            and not _echoes(question, answer) and not _gives_away(question, answer) and not _repeats_itself(question)
            and not is_meta_talk(question) and not is_impersonation(question)
            and legible(question, language) and not FORMULA.search(question))


def _echoes(question: str, answer: str) -> bool:
    """A question that reads its answer out first ("Does the tun lose most of its water?" before "The tun loses
    most of its water"): a third of its 5-word shingles in the answer. An open question ("What dataset do the authors
    evaluate their method on?") shares the answer's words by nature: it echoes only when the answer adds little to it
    ("How do the authors combine the new predictions with the original ones?")."""
    own, theirs = shingles(question), shingles(answer)
    if _OPEN_QUESTION.match(question):
        return bool(theirs) and len(own & theirs) >= ECHO_SHARE * len(theirs)
    return bool(own) and len(own & theirs) >= max(1, len(own) // 3)


def _gives_away(question: str, answer: str) -> bool:
    """A question that states the measured value its answer gives ("What was the humidity ... at 85 percent?",
    "What is the survival rate of 81 percent?"): a number with its unit in both."""
    measured = {(number, unit) for number, unit in numbers_with_units(question.lower()) if unit}
    return bool(measured & set(numbers_with_units(answer.lower())))


def _repeats_itself(question: str) -> bool:
    """A garbled question that says the same three words twice ("the difference between entering a tun state and
    drying by entering a tun state")."""
    words = re.findall(r"\w+", question.lower())
    grams = [tuple(words[k:k + 3]) for k in range(len(words) - 2)]
    return len(grams) != len(set(grams))


def asks_one_thing(question: str) -> bool:
    """One question, not three run together ("What is X? How does it work? Why use it?"): an answer to all of them
    is rarely in one passage, and the one that seems to answer usually restates them."""
    return question.rstrip().endswith("?") and question.count("?") == 1


def stands_alone(question: str, answer: str) -> bool:
    """A card a student can read alone: neither side points to what only the page around it names ("What are the
    best published results on this dataset?" read as ImageNet's, and were not), and an ordinal the question asks about
    is in the answer ("How does the second form ... work?" was answered with the first). Nor is the document's own
    layout a card ("Which sections are sorted according to their importance?")."""
    if not about_the_content(question, answer) or _POINTS_OUTSIDE.search(answer):
        return False
    said = {w.lower() for w in _ORDINAL.findall(answer)}
    return all(w.lower() in said for w in _ORDINAL.findall(question))


def about_the_content(question: str, evidence: str) -> bool:
    """A question to check oneself on: none the page around it must explain ("What are the best published results on
    this dataset?"), none on the document's layout (its evidence says "the remaining sections are sorted ...")."""
    return not _POINTS_OUTSIDE.search(question) and not ROADMAP.match(evidence)


def defines_what_it_asks(question: str, answer: str) -> bool:
    """ "What is X?" needs an answer that says what X is, not one that merely names it."""
    match = _ASKS_DEFINITION.match(question)
    return not match or Source.defines(match.group(1), answer)

