"""Audit: re-verify a document's finished study outputs against its source, item by item.

The notes stage checks citations as it writes (is a term or a number on the cited page?), which a swapped number, a
swapped name, a dropped "not" or a claim from outside the document all pass. The audit reads every finished item
against the verbatim sentences it rests on (`verify`), so each of those is counted and shown with its reason, along
with items that repeat an earlier one and right items that cite the wrong pages.

Evidence for an item is what `find_evidence` locates plus one neighbouring sentence on each side (a statement may
compress two sentences, and a pronoun's referent sits in the sentence before). The cited pages are searched first,
then the rest of the document; an item the source supports only on pages it does not cite has wrong pages. When no
run of sentences is close enough to be located, the few windows sharing most of its content words are tried, so a
compressed but right item still passes and a wrong one is shown next to the nearest source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import AuditItem, AuditReport, Document, Evidence, NotesResult, OutputAudit, Script
from ..text.sentences import split_sentences
from .evidence import find_evidence, plain_text, sentence_index
from .grounding import quote_text
from .phrases import is_frame
from .verify import (
    DUPLICATE_SIMILARITY,
    Verdict,
    content_stems,
    duplicates,
    answer_statement,
    names_in,
    verify,
    verify_answer,
)

OUTPUTS = ("summary", "key_points", "glossary", "qa", "quiz", "cards", "script")
CROSS_DUPLICATES = ("qa", "quiz")  # both ask the reader questions: the same question in both counts as a repeat
WINDOWS = 3  # overlap windows tried on each side (cited pages, the rest) when nothing is located
_SENTENCE_END = re.compile(r"[.!?\u2026][\"')\]\u201d\u2019]*\s*$")
_GREETING = re.compile(r"^\W*(?:welcome|hello|hi|hey|thanks|thank you|goodbye|bye|see you)\b", re.IGNORECASE)


@dataclass
class Statement:
    """One checkable item of an output: its text as checked and the pages it cites."""

    output: str
    number: int
    text: str
    pages: list[int]
    problem: str = ""  # a fault found before any evidence is read (a quiz answer naming no option)
    evidence: list[Evidence] = field(default_factory=list)  # the item's own evidence, when it carries any
    asked: tuple[str, str, bool] | None = None  # (question, answer, always together) for answers

    def judged(self, evidence: list[str], language: str) -> Verdict:
        if self.asked:
            question, answer, always = self.asked
            return verify_answer(question, answer, evidence, language, always)
        return verify(self.text, evidence, language)


@dataclass
class _Candidate:
    quote: str  # the verbatim text shown as the evidence
    page: int
    texts: list[str]  # what the statement is verified against: the quote's sentences and their neighbours
    located: bool  # found by find_evidence, not only by shared words


def audit_outputs(document: Document, notes: NotesResult, script: Script | None = None,
                  threshold: float = DUPLICATE_SIMILARITY) -> AuditReport:
    """Counts per output (supported, unsupported, duplicate, wrong pages) and every flagged item with its reasons
    and the best evidence the source has for it."""
    statements, skipped = statements_of(notes, script)
    source = _Source(document)
    repeats = _repeats(statements, threshold, document.language)
    report = AuditReport(document=notes.document, title=notes.title)
    for output in OUTPUTS:
        if not statements.get(output) and not skipped.get(output):
            continue
        counts = OutputAudit(output=output, skipped=skipped.get(output, 0))
        for item in statements.get(output, []):
            verdict, candidate, wrong = source.check(item)
            repeat = repeats.get((output, item.number), "")
            counts.checked += 1
            counts.supported += verdict.supported
            counts.unsupported += not verdict.supported
            counts.duplicate += bool(repeat)
            counts.wrong_pages += wrong
            if not verdict.supported or repeat or wrong:
                report.items.append(AuditItem(
                    output=output, number=item.number, text=item.text, pages=item.pages, supported=verdict.supported,
                    score=verdict.score, reasons=verdict.reasons, evidence=candidate.quote if candidate else "",
                    evidence_page=candidate.page if candidate else None, wrong_pages=wrong, duplicate_of=repeat,
                ))  # fmt: skip
        report.outputs.append(counts)
    return report


def statements_of(notes: NotesResult, script: Script | None = None) -> tuple[dict[str, list[Statement]], dict]:
    """The checkable statements of every output, and per output how many were left out as having nothing to check.

    A glossary entry is checked as "term: definition", a quiz question with its correct option, a short answer with
    its question (an answer of two words says nothing alone)."""
    out: dict[str, list[Statement]] = {}

    def add(output: str, text: str, pages: list[int], evidence: list[Evidence], problem: str = "",
            asked: tuple[str, str, bool] | None = None) -> None:
        items = out.setdefault(output, [])
        items.append(Statement(output, len(items) + 1, " ".join(plain_text(text).split()), list(pages), problem,
                               list(evidence), asked))

    if notes.summary is not None:
        for cited in notes.summary.abstract + [s for section in notes.summary.sections for s in section.sentences]:
            add("summary", cited.text, cited.pages, cited.evidence)
    for cited in notes.key_points:
        add("key_points", cited.text, cited.pages, cited.evidence)
    for term in notes.glossary:
        add("glossary", f"{term.term}: {term.definition}", term.pages, term.evidence)
    for pair in notes.qa:
        add("qa", answer_statement(pair.question, pair.answer), pair.pages, pair.evidence,
            asked=(pair.question, pair.answer, False))
    for question in notes.quiz:
        letter = question.answer.strip().upper()
        if len(letter) == 1 and letter in "ABCD"[:len(question.options)]:
            correct = question.options["ABCD".index(letter)]
            add("quiz", answer_statement(question.question, correct, always=True), question.pages, question.evidence,
                asked=(question.question, correct, True))
        else:
            add("quiz", question.question, question.pages, [], f"answer '{question.answer}' names no option")
    for card in notes.cards:
        if card.kind == "term":
            add("cards", f"{card.front}: {card.back}", card.pages, card.evidence)
        else:
            add("cards", answer_statement(card.front, card.back), card.pages, card.evidence,
                asked=(card.front, card.back, False))
    skipped: dict[str, int] = {}
    if script is not None:
        names = speaker_names(script)
        for turn in script.turns:
            for sentence in split_sentences(plain_text(turn.text)):
                text = without_names(sentence, names)
                host = bool(script.speakers) and turn.speaker == script.speakers[0].id
                if _chatter(text, script.language, host=host):
                    skipped["script"] = skipped.get("script", 0) + 1
                else:
                    add("script", text, [], [])
    return out, skipped


# ---------------------------------------------------------------------------------------------------------------------


def speaker_names(script: Script) -> set[str]:
    """The words of the speakers' names ("Maya", "Chen"), which say nothing about the document."""
    return {word for speaker in script.speakers for word in re.findall(r"[^\W\d_]{2,}", speaker.name)}


def without_names(sentence: str, names: set[str]) -> str:
    """A host's own name is no claim about the document ("Thanks, Maya")."""
    if not names:
        return sentence
    pattern = r"\b(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\b,?\s*"
    return re.sub(r"\s+([,.!?])", r"\1", re.sub(pattern, "", sentence)).strip(" ,")


def _chatter(sentence: str, language: str, host: bool = False) -> bool:
    """A question, a greeting or a reaction ("That's wild!", "Today: water bears.") claims nothing the source could
    support: under four content words with no number and no name; or, said by the host, a line of the show's frame
    with the title and topics put in ("Now, Résolution DM-2023-001."; the expert's "First, the animals were dried."
    is a claim)."""
    if not sentence or sentence.rstrip().endswith("?") or _GREETING.search(sentence) or (host and is_frame(sentence)):
        return True
    return len(content_stems(sentence, language)) < 4 and not re.search(r"\d", sentence) \
        and not names_in(sentence, language)


def _repeats(statements: dict[str, list[Statement]], threshold: float, language: str) -> dict[tuple[str, int], str]:
    """(output, number) -> the earlier item it repeats, within each output and across CROSS_DUPLICATES."""
    found: dict[tuple[str, int], str] = {}

    def mark(items: list[Statement], cross_only: bool) -> None:
        for i, j in duplicates([s.text for s in items], threshold, language):
            first, later = items[i], items[j]
            key = (later.output, later.number)
            if key not in found and not (cross_only and first.output == later.output):
                found[key] = f"{first.output} #{first.number}"

    for items in statements.values():
        mark(items, cross_only=False)
    mark([s for output in CROSS_DUPLICATES for s in statements.get(output, [])], cross_only=True)
    return found


class _Source:
    """The document's clean body sentences with their content words, built once for all items."""

    def __init__(self, document: Document):
        self.document = document
        self.language = document.language
        self.index = sentence_index(document)
        self.clean = [s for s in self.index if s.clean]
        self.position = {s.id: i for i, s in enumerate(self.clean)}
        self.stems = [set(content_stems(plain_text(s.text), self.language)) for s in self.clean]

    def check(self, item: Statement) -> tuple[Verdict, _Candidate | None, bool]:
        """The verdict, the evidence it was reached on, and whether only uncited pages support the item."""
        if item.problem:
            return Verdict(False, 0.0, [item.problem]), None, False
        if item.evidence:  # judged on its own evidence only: that is what the reader is shown as its source
            quotes = [e.quote for e in item.evidence]
            candidate = _Candidate(quote_text(item.evidence), item.evidence[0].page, quotes, True)
            return item.judged(quotes, self.language), candidate, False
        cited = set(item.pages)
        stems = set(content_stems(item.text, self.language))
        sides = [(True, cited)] if cited else []
        sides.append((False, {s.page for s in self.clean} - cited))
        tried: list[tuple[_Candidate, Verdict]] = []
        for on_cited, pages in sides:
            for candidate in [self._located(item, pages), *self._windows(stems, pages, cited)]:
                if candidate is None:
                    continue
                verdict = item.judged(candidate.texts, self.language)
                if verdict.supported:
                    return verdict, candidate, bool(cited) and not on_cited
                tried.append((candidate, verdict))
        if not tried:
            return Verdict(False, 0.0, [f"generic: none of its {len(stems)} content words in the source"]), None, False
        located = [pair for pair in tried if pair[0].located]
        candidate, verdict = located[0] if located else max(tried, key=lambda pair: pair[1].score)
        return verdict, candidate, False

    def _located(self, item: Statement, pages: set[int]) -> _Candidate | None:
        index = [s for s in self.index if s.page in pages]
        evidence = find_evidence(self.document, item.text, pages=item.pages, index=index) if index else None
        if evidence is None:
            return None
        touched = [i for i, s in enumerate(self.clean)
                   if s.page == evidence.page and s.start < evidence.end and evidence.start < s.end]
        if not touched:
            return _Candidate(evidence.quote, evidence.page, [evidence.quote], True)
        return _Candidate(evidence.quote, evidence.page, self._around(touched[0], touched[-1], set(item.pages)), True)

    def _windows(self, stems: set[str], pages: set[int], cited: set[int]) -> list[_Candidate]:
        """The sentences of `pages` sharing most content words with the statement, counting their neighbours'."""
        scored = []
        for i, sentence in enumerate(self.clean):
            own = len(stems & self.stems[i]) if sentence.page in pages else 0
            if own:
                around = set().union(*(self.stems[j] for j in self._neighbours(i, i, cited)))
                scored.append((-len(stems & around), -own, i))  # most shared first, then reading order
        return [_Candidate(self.clean[i].text, self.clean[i].page, self._around(i, i, cited), False)
                for _, _, i in sorted(scored)[:WINDOWS]]

    def _neighbours(self, first: int, last: int, cited: set[int]) -> range:
        """first-1 .. last+1 where the neighbour is on the same page or a cited one, or is the other half of a
        sentence cut by a page break."""
        def joins(before: int, after: int) -> bool:
            a, b = self.clean[before], self.clean[after]
            return a.page == b.page or {a.page, b.page} <= cited | {self.clean[first].page} \
                or not _SENTENCE_END.search(a.text)

        start = first - 1 if first > 0 and joins(first - 1, first) else first
        end = last + 1 if last + 1 < len(self.clean) and joins(last, last + 1) else last
        return range(start, end + 1)

    def _around(self, first: int, last: int, cited: set[int]) -> list[str]:
        return [self.clean[j].text for j in self._neighbours(first, last, cited)]
