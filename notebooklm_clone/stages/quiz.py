"""The quiz: a question per grounded point, the correct option taken from its evidence, the wrong ones from the same
document, and the correct letters balanced.

A small model writes plausible-sounding wrong options from memory, and a wrong option that happens to be true, or a
correct one the document never says, teaches the wrong thing. So the correct answer must be copied from the point
or its evidence (and the question with it supported by that evidence); a distractor must be the same kind of thing
(a number for a number, a name for a name) and come from the document itself, never from the answer's own evidence;
the model's distractors that fail are replaced from a pool of the document's numbers, names and terms, and a question
without three is dropped. Options are shuffled with the document's hash as the seed, and the correct letters are
dealt evenly, so no letter is right more than its share.
"""

from __future__ import annotations

import random
import re

from pydantic import BaseModel, Field

from ..models import Cited, GroundingCounts, QuizQuestion, Term
from .condense import chosen
from .evidence import plain_text
from .focus import Focus
from .grounding import Source, clean_text, count, drop_duplicates, pages_of_evidence, union_evidence
from .verify import BLANK, answer_statement, comparable_text, content_stems, names_in, stem, stopwords, verify_answer

LETTERS = "ABCD"
MAX_OPTION_WORDS = 12
# a number standing alone (not part of "2023-0379", "v1.2" or "1314-2023-DEM"), with the word after it
_NUMBER = re.compile(r"(?<![\w.,/\-])\d+(?:,\d{3})*(?:\.\d+)?(?![\w/\-]|[.,]\d)(?:\s?(?:%|percent|per cent|"
                     r"[a-zµ°][a-zA-Z°/]{0,9}))?")
# a number that only labels what the word before it names ("Figure 2", "Table 1", "GTX 580"): asking for it is trivia
_LABELLED = re.compile(r"(?:\b(?i:figure|fig|table|tab|section|sec|eq|equation|appendix|chapter|page|pp?|step|"
                       r"algorithm|line|row|column)\.?|\b[A-Z]{2,}[A-Za-z]*)\s*$")
_CITED_YEAR = re.compile(r"\([^()]*\b(?:1[5-9]|20)\d\d[a-z]?\)")
_BLANK_LEAD = {"en": "Which completes this sentence from the document", "fr": "Qu'est-ce qui complète cette phrase du "
               "document", "de": "Was ergänzt diesen Satz aus dem Dokument"}
_UNITS = {"%", "percent", "°c", "°f", "k", "km", "m", "cm", "mm", "µm", "nm", "kg", "g", "mg", "ms", "s", "min", "h",
          "hours", "days", "years", "months", "weeks", "gy", "mb", "gb", "tb", "hz", "khz", "mhz", "ghz", "million",
          "billion", "thousand", "atmospheres", "atm", "mpa", "gpa", "layers", "images", "classes", "parameters",
          "epochs", "samples", "words", "pages", "people", "participants", "students", "times", "steps"}


class _QuizItemOut(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=1)
    question: str
    answer: str
    distractors: list[str] = Field(min_length=3, max_length=3)


class QuizOut(BaseModel):
    questions: list[_QuizItemOut]


def _kind(option: str, language: str) -> str:
    if " " not in option.strip() and _technical(option.strip()):
        return "name"  # "CIFAR-10", "ResNet-152": a name with digits, not a quantity
    if re.search(r"\d", option):
        return "number"
    if names_in(" " + option, language) and len(option.split()) <= 4:
        return "name"
    return "phrase"


def _technical(name: str) -> bool:
    """A name worth quizzing on: an acronym of two to five capitals ("DNA", "CAHS"), CamelCase ("ResNet") or letters
    with digits ("CIFAR-10"), not a capitalised word that may only open a clause nor a word set in capitals."""
    letters = [c for c in name if c.isalpha()]
    if len(name) <= 2 or len(letters) < 2 or re.search(r"\w\.\w+/", name):  # not "image-net.org/challenges/..."
        return False
    if any(c.isdigit() for c in name):
        return any(c.isupper() for c in name)  # "CIFAR-10", not "plain-110"
    if all(c.isupper() for c in letters):
        return len(letters) <= 5
    return bool(re.search(r"[a-z][A-Z]", name))


def _glued_mark(name: str, words: set[str]) -> bool:
    """A word with a footnote mark glued on ("patches4", "publicly1"): the word is in the document without it."""
    match = re.fullmatch(r"([^\W\d_]{4,})(\d{1,2})", name)
    return bool(match) and match.group(1).lower() in words


def _year(option: str) -> bool:
    return bool(re.fullmatch(r"1[5-9]\d\d|20\d\d", option.strip()))


def _padded(number: str) -> bool:
    """ "000" of "1 000 000", "07" of a date: digits that are no quantity on their own."""
    return len(number) > 1 and number.startswith("0") and not number.startswith("0.")


def _with_unit(number: str) -> str:
    """A number as an option: with its unit when the word after it is one ("85 percent"), else the digits alone."""
    number = number.strip()
    return number if _unit(number) else _digits(number)


_DIGITS = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _digits(number: str) -> str:
    match = _DIGITS.match(number.strip())
    return match.group() if match else ""


def _whole(number: str) -> bool:
    return "." not in _digits(number)


def _unit(option: str) -> str:
    match = re.search(r"\d[\d,.]*\s?(\S+)?", comparable_text(option))
    unit = (match.group(1) or "") if match else ""
    return unit if unit in _UNITS else ""


class DistractorPool:
    """The document's numbers (with their units), names, glossary terms and recurring nouns: the wrong options a
    question can take when the model's own are not from the document."""

    def __init__(self, source: Source, terms: list[Term]):
        self.source = source
        self.language = source.language
        clean = [s for s in source.index if s.clean]
        self.body = comparable_text(" ".join(plain_text(s.text) for s in clean))
        self.body_stems = set(content_stems(self.body, self.language))
        numbers, names = [], []
        words = set(re.findall(r"[^\W\d_]+", self.body))
        for s in clean:
            text = _CITED_YEAR.sub("", plain_text(s.text))
            if s.block_kind != "heading":  # "3.1 ReLU Nonlinearity", "see Section 3.5": no wrong answer to a count
                numbers += [_with_unit(m.group()) for m in _NUMBER.finditer(text) if not _padded(m.group())
                            and not _LABELLED.search(text[:m.start()])]
            names += [n for n in names_in(text, self.language) if _technical(n) and not _glued_mark(n, words)
                      and content_stems(n.lower(), self.language)]  # "QUE" set in capitals is still a stopword
        self.numbers = list(dict.fromkeys(numbers))
        self.terms = list(dict.fromkeys(t.term for t in terms))
        self.names = list(dict.fromkeys(names))
        self.subjects = _subjects(" ".join(plain_text(s.text) for s in clean), source.document.title, self.language)

    def in_document(self, option: str) -> bool:
        """Verbatim (up to case and spacing) in the body, or, for a phrase, every content word of it there."""
        text = comparable_text(option)
        if text and text in self.body:
            return True
        stems = content_stems(option, self.language)
        return _kind(option, self.language) == "phrase" and len(stems) >= 2 and set(stems) <= self.body_stems

    def candidates(self, answer: str) -> list[list[str]]:
        """Wrong options of the answer's kind, best first, in tiers to draw from in turn: numbers with the answer's
        unit (then the document's unitless numbers of its form, given that unit: "152 layers" takes "34 layers", not
        "7.32"), names for a name ("ImageNet" takes "CIFAR-10", not "error"), terms and recurring nouns for a term."""
        kind = _kind(answer, self.language)
        if kind == "number":
            unit, year, whole = _unit(answer), _year(answer), _whole(answer)
            same = [n for n in self.numbers if _unit(n) == unit and _year(n) == year]
            digits = _DIGITS.search(answer)  # "about 34 layers": the unit after the number wherever it is
            suffix = answer[digits.end():].rstrip() if unit and digits else ""
            scale = suffix.strip().lower() in ("thousand", "million", "billion")  # not "4096 million"
            alike = [n + suffix for n in self.numbers if n not in same and not _unit(n) and _year(n) == year
                     and _whole(n) == whole and not (scale and float(_digits(n).replace(",", "")) >= 1000)]
            tiers = [[n for n in same if _whole(n) == whole], alike, same,
                     [n for n in self.numbers if n not in same and _year(n) == year]]
            plural = suffix.endswith("s")  # no "1 layers"
            return [[n for n in tier if not (plural and _digits(n) in ("0", "1"))] for tier in tiers]
        key = comparable_text(answer)
        if kind == "name" and _technical(answer):
            return [self.names, self.terms]
        kinds = self.terms + self.subjects
        if any(comparable_text(t) == key for t in kinds):
            plural = key.endswith("s")  # "video _____" takes "games", not "school"; a word takes a word
            return [[t for t in kinds if (" " in t) == (" " in key) and (" " in key or t.endswith("s") == plural)]]
        return [self.names] if kind == "name" else []

    def shuffled(self, answer: str, rng: random.Random) -> list[str]:
        """The candidates, each tier in random order: which wrong options a question gets is not the document's order."""
        out: list[str] = []
        for tier in self.candidates(answer):
            tier = [c for c in tier if c not in out]
            rng.shuffle(tier)
            out += tier
        return out


MIN_SUBJECT_USES = 3
MAX_SUBJECTS = 12  # the most used: rarer "nouns" are more often verbs or adjectives


def _subjects(text: str, title: str, language: str) -> list[str]:
    """The document's recurring nouns (stages/focus.py), most used first: wrong options of a glossary term's kind
    when the glossary is too short to give three."""
    focus = Focus(text, title, language)
    stop = stopwords(language)
    found: dict[str, str] = {}
    for word in sorted(focus.heads, key=lambda w: (-focus.uses[(stem(w),)], w)):
        if len(word) >= 4 and "-" not in word and stem(word) not in focus.excluded and not word.endswith("ing") \
                and focus.uses[(stem(word),)] >= MIN_SUBJECT_USES and word not in stop:
            found.setdefault(stem(word), word)
    return list(found.values())[:MAX_SUBJECTS]


def build_quiz(items: list[_QuizItemOut], points: list[Cited], source: Source, terms: list[Term], asked: list[str],
               counts: GroundingCounts, limit: int) -> list[QuizQuestion]:
    """Quiz questions from the model's items (see the module doc), topped up to `limit` with fill-in-the-blank
    questions on the points' own sentences, near-duplicates of one another and of the Q&A (`asked`) removed, letters
    balanced."""
    pool = DistractorPool(source, terms)
    rng = random.Random(source.document.sha256)
    drafts: list[tuple[str, str, list[str], list]] = []
    used: set[str] = set()
    for item in items:
        draft = _draft(item, chosen(points, item.ids), pool, rng)
        count(counts, "verified" if draft else "")
        if draft:
            drafts.append(draft)
            used |= {e.sentence_id for e in draft[3]}

    def said(draft) -> str:  # what the question claims, as the audit reads it
        return answer_statement(draft[0], draft[1], source.language, always=True)

    drafts = drop_duplicates(drafts, said, source.language, counts, asked)
    answers = {d[1].lower() for d in drafts}
    blanks = []
    for strict in (True, False):  # a number, a name or a term first; a recurring noun only if the quiz is short
        for point in _spread(points, limit - len(drafts)):
            if len(drafts) + len(blanks) >= limit:
                break
            draft = _blank(point, pool, rng, used, strict)
            if draft and draft[1].lower() in answers:  # the same answer blanked out twice is the same question
                continue
            if draft and drop_duplicates([draft], said, source.language, None,
                                         asked + [said(d) for d in drafts + blanks]):
                answers.add(draft[1].lower())
                count(counts, "quoted")
                blanks.append(draft)
                used |= {e.sentence_id for e in draft[3]}
    drafts += sorted(blanks, key=lambda d: (d[3][0].page, d[3][0].start))  # in reading order
    letters = list((LETTERS * (len(drafts) // len(LETTERS) + 1))[: len(drafts)])
    rng.shuffle(letters)
    quiz = []
    for (question, answer, wrong, evidence), letter in zip(drafts, letters):
        options = list(wrong)
        rng.shuffle(options)
        options.insert(LETTERS.index(letter), answer)
        quiz.append(QuizQuestion(question=question, options=options, answer=letter,
                                 pages=pages_of_evidence(evidence), evidence=evidence))
    return quiz


def _draft(item: _QuizItemOut, points: list[Cited], pool: DistractorPool, rng: random.Random):
    """(question, correct answer, three wrong options, evidence), or None when the item cannot be grounded."""
    question, answer = clean_text(item.question), clean_text(item.answer).rstrip(" .")
    evidence = union_evidence(points)
    if not question.endswith("?") or not answer or not evidence or len(answer.split()) > MAX_OPTION_WORDS:
        return None
    quotes = [e.quote for e in evidence]
    said = comparable_text(" ".join([*quotes, *(p.text for p in points)]))
    if comparable_text(answer) not in said:
        return None  # not copied from the point or its evidence
    if not verify_answer(question, answer, quotes, pool.language, always=True).supported:
        return None
    if comparable_text(answer) in comparable_text(question):
        return None  # the question gives its answer away
    evidence_text = comparable_text(" ".join(quotes))
    kind = _kind(answer, pool.language)
    offered = [clean_text(d).rstrip(" .") for d in item.distractors]
    spare = pool.shuffled(answer, rng)
    wrong: list[str] = []
    for option in offered + spare:
        key = comparable_text(option)
        if not key or len(option.split()) > MAX_OPTION_WORDS or _kind(option, pool.language) != kind:
            continue
        if key in evidence_text or key in comparable_text(answer) or comparable_text(answer) in key:
            continue  # maybe true for this question, or the answer itself
        if any(key == comparable_text(w) for w in wrong) or not pool.in_document(option):
            continue
        wrong.append(option)
        if len(wrong) == 3:
            return question, answer, wrong, evidence
    return None


def _spread(points: list[Cited], n: int) -> list[Cited]:
    """The points in an order that crosses the whole document: `n` evenly spaced ones first, then the rest in an
    order each part of which is spread too (bit-reversed positions: the middle, the quarters, ...). Blanks taken in
    reading order all came from a paper's first two pages; the rest in reading order, once the evenly spaced points
    had nothing to blank, made six of alexnet's eight questions its abstract read in order."""
    if n <= 0 or len(points) <= n:
        return points
    first = {int(k * len(points) / n) for k in range(n)}
    bits = max(1, (len(points) - 1).bit_length())
    rest = sorted((k for k in range(len(points)) if k not in first), key=lambda k: int(f"{k:0{bits}b}"[::-1], 2))
    return [points[k] for k in sorted(first)] + [points[k] for k in rest]


def _blank(point: Cited, pool: DistractorPool, rng: random.Random, used: set[str], strict: bool = False):
    """A fill-in-the-blank question on the verbatim sentence under a point: a number, a name, a term or else (unless
    `strict`) a recurring noun of it blanked out, the wrong options from the document's others of the kind. None when
    the sentence has nothing to blank or the document too few alternatives."""
    for evidence in point.evidence:
        if evidence.sentence_id in used:
            continue
        sentence = plain_text(evidence.quote)
        if not 6 <= len(sentence.split()) <= 45:
            continue
        content = _CITED_YEAR.sub("", sentence)  # "(Gee, 2008)": a quiz on citation years teaches nothing
        targets = [_with_unit(m.group()) for m in _NUMBER.finditer(content)
                   if not _padded(m.group()) and not _LABELLED.search(content[:m.start()])]
        targets += [n for n in pool.terms + pool.names + ([] if strict else pool.subjects)  # not "meta-_____"
                    if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", content)]
        title = comparable_text(pool.source.document.title or "")
        # a blank first word asks for grammar; a word of the title gives itself away
        targets = [t for t in targets if not sentence.startswith(t) and comparable_text(t) not in title]
        for answer in targets:
            if sentence.count(answer) != 1 or f"({answer})" in sentence:  # "Convolutional neural networks (CNNs)"
                continue
            spare = [c for c in pool.shuffled(answer, rng) if comparable_text(c) not in comparable_text(sentence)]
            wrong = list(dict.fromkeys(c for c in spare if comparable_text(c) != comparable_text(answer)))[:3]
            if len(wrong) == 3:
                lead = _BLANK_LEAD.get(pool.language.split("-")[0], _BLANK_LEAD["en"])
                question = f"{lead}: \u201c{sentence.replace(answer, BLANK)}\u201d?"
                return question, answer, wrong, [evidence]
    return None
