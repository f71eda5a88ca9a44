"""Grounding: a study item is kept only when the verbatim source sentences it rests on support it.

Small models select well and invent badly, so the notes are built by selection: the model is shown numbered
source sentences ("[s12] ...") and answers with the ids each item rests on (`Source.evidence`). Each item is then
read against those sentences (`verify`), widened by one neighbour when a pronoun's referent sits there. An item
that fails is relocated within the passage it came from when its text sits in other sentences, rewritten once by
the model from its evidence, else replaced by the quote itself (a statement in the document's own words), else
dropped. Reduce steps (summary, Q&A, quiz, condensing) work on grounded points shown as "[k3] ..." and answer with
point ids: a sentence they write is checked against the union of those points' evidence and falls back to the
first point when unsupported.

Every outcome is counted per output (GroundingCounts, report.json's "grounding").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import Cited, Document, Evidence, GroundingCounts, SourceSentence
from ..sources.structure import CAPTION
from ..text.citations import strip_citation_marks
from ..text.recitals import RECITAL, readable
from .evidence import evidence_for, find_evidence, is_debris, plain_text, sentence_index
from .legible import AFFILIATION, ROADMAP, legible
from .verify import DUPLICATE_SIMILARITY, Verdict, comparable_text, content_stems, duplicates, verify

QUOTE_MAX_WORDS = 60  # a quote longer than this is not a study note; the item is dropped instead
QUOTE_MIN_WORDS = 5  # nor is a fragment
MAX_EVIDENCE = 3  # sentences one item may rest on
# Share of a written note's content words its evidence must hold for the note to be kept as written: all of them
# below ten. Stricter than the verifier's MIN_OVERLAP, because one word from elsewhere is often the wrong claim (a
# textbook adjective, a guessed cause, "protected by" for "governing"), and the quote is always there to fall back on.
KEEP_OVERLAP = 0.9
MIN_CONTENT_WORDS = 3  # "Pope, 2003" or "See Figure 2." is no study note
# (not a resolution's formula in capitals: "IL EST RÉSOLU ..." points back to nothing)
ANAPHOR = re.compile(r"\W*(?!(?-i:IL [A-ZÀ-Ý]{2,}))(?:it|its|they|them|their|this|these|that|those|he|she|his|her|"
                     r"such|the latter|the former|both|there|here|il|elle|ils|elles|cela|ceci|er|sie|es|dies|"
                     r"diese)\b", re.IGNORECASE)


# a quote's opening that points back: a demonstrative, a pronoun, a consequence drawn from the sentence before
_QUOTE_ANAPHOR = re.compile(r"\W*(?:this|these|those|such|they|their|its|thus|therefore|hence|so|consequently|"
                            r"ce|cette|ces|ils|elles|donc|dies|diese|daher)\b", re.IGNORECASE)
REFERENT_WORDS = 30  # a quote with the sentence naming its referent may run this much over QUOTE_MAX_WORDS


def clean_text(text: str) -> str:
    """One line, no bullet marks, no "(p. 6)" or "[s12]" of the model's own, no replacement characters."""
    text = re.sub(r"\[\s*[sk]\d+(?:\s*,\s*[sk]?\d+)*\s*\]", "", text)
    return " ".join(strip_citation_marks(text).replace("\ufffd", " ").split()).strip(" -*•")


def quote_text(evidence: list[Evidence]) -> str:
    """The evidence as a readable statement: its sentences without reference markers (and recital formulas)."""
    return " ".join(readable(plain_text(e.quote)) for e in evidence)


def pages_of_evidence(evidence: list[Evidence]) -> list[int]:
    return sorted({e.page for e in evidence})


_ARTICLES = (r"(?:an?|the|one|un|une|le|la|les|l'|des|du|ein|eine|einer|der|die|das|el|los|las|una|il|lo|gli|um|uma|"
             r"o|os|as)\b")

# what follows "are" in a statement about X rather than a definition of it: a participle, an adverb, a preposition
_PREDICATE = (r"(?:\w+ed|\w+é|\w+ées?|\w+és|not|no|also|often|very|more|less|most|so|too|still|now|then|thought|"
              r"able|in|on|at|by|to|of|for|from|with|being|been|where|when|found|known|shown|seen|made|kept|under)\b")


class Source:
    """The document's sentence index with the lookups grounding needs, built once per document."""

    def __init__(self, document: Document):
        self.document = document
        self.language = document.language
        self.index = sentence_index(document)
        self.by_id = {s.id: s for s in self.index}
        self.position = {s.id: i for i, s in enumerate(self.index)}

    def offered(self, sentences: list[SourceSentence]) -> list[SourceSentence]:
        """The sentences a model may pick as evidence: clean, not headings, not the document's title, not a line
        about its authors (an affiliation, an e-mail), and saying something (MIN_CONTENT_WORDS)."""
        title = comparable_text(self.document.title or "")
        return [s for s in sentences if offered(s) and comparable_text(s.text).rstrip(".") != title
                and not self._about_authors(s.text) and len(content_stems(s.text, self.language)) >= MIN_CONTENT_WORDS]

    def _about_authors(self, text: str) -> bool:
        if re.search(r"\S+@\S+\.\w", text):
            return True
        surnames = {a.split()[-1].lower() for a in self.document.authors if a.split()}
        words = set(re.findall(r"[^\W\d_]+", text.lower()))
        return bool(surnames & words) and bool(AFFILIATION.search(text))

    def evidence(self, ids: list[str]) -> list[Evidence]:
        return evidence_for(self.index, ids)[:MAX_EVIDENCE]

    def _previous(self, evidence: Evidence) -> Evidence | None:
        """The clean sentence before `evidence`, on its page or the page before."""
        at = self.position.get(evidence.sentence_id)
        if not at:  # unknown, or the first sentence
            return None
        s = self.index[at - 1]
        if not s.clean or abs(s.page - evidence.page) > 1:
            return None
        return Evidence(sentence_id=s.id, page=s.page, start=s.start, end=s.end, quote=s.text)

    def with_referent(self, evidence: list[Evidence]) -> list[Evidence]:
        """A quote opening on a referent it does not name ("This scheme reduces ...", "Therefore, we ...") with the
        sentence before, where the referent is, when that reads as part of a note and both stay short: quoted alone,
        a student cannot tell which scheme (a grader read one under the wrong heading)."""
        if not evidence or not _QUOTE_ANAPHOR.match(evidence[0].quote):
            return evidence
        before = self._previous(evidence[0])
        sentence = self.by_id.get(before.sentence_id) if before else None
        if not offered(sentence) or not legible(plain_text(sentence.text), self.language) or \
                len(quote_text([before, *evidence]).split()) > QUOTE_MAX_WORDS + REFERENT_WORDS:
            return evidence
        return [before, *evidence]

    def supports(self, statement: str, evidence: list[Evidence]) -> tuple[Verdict, list[Evidence]]:
        """The verdict on `statement` against its evidence; when that fails and the evidence opens with a pronoun
        ("They ...", "This ..."), against it with the sentence before, where the referent is. Never with any other
        neighbour: a statement that needs one merges two facts the document keeps apart."""
        if not evidence:
            return Verdict(False, 0.0, ["no evidence"]), []
        verdict = verify(statement, [e.quote for e in evidence], self.language, min_overlap=KEEP_OVERLAP)
        if verdict.supported:
            return verdict, self._tightest(statement, evidence)
        if len(evidence) >= MAX_EVIDENCE or not ANAPHOR.match(evidence[0].quote):
            return verdict, evidence
        widened = _prepend(self._previous(evidence[0]), evidence)
        if widened:
            wider = verify(statement, [e.quote for e in widened], self.language, min_overlap=KEEP_OVERLAP)
            if wider.supported:
                return wider, widened
        return verdict, evidence

    def _tightest(self, statement: str, evidence: list[Evidence]) -> list[Evidence]:
        """One of several sentences when it supports the statement alone: a footnote quotes what the note says, not
        a neighbour the model also named (the cost estimate, not the recital before it)."""
        if len(evidence) < 2:
            return evidence
        for one in evidence:
            if verify(statement, [one.quote], self.language, min_overlap=KEEP_OVERLAP).supported:
                return [one]
        return evidence

    def locate(self, statement: str, within: list[SourceSentence]) -> list[Evidence]:
        """Evidence for a statement among the clean sentences of its passage (the model picked the wrong ids)."""
        clean = [s for s in within if s.clean]
        if not clean:
            return []
        found = find_evidence(clean, statement)
        return self.evidence([found.sentence_id]) if found else []

    def uses(self, term: str, within: list[SourceSentence]) -> list[SourceSentence]:
        """The clean sentences of a passage that use `term` (case and dashes aside), defining sentences first."""
        needle = comparable_text(term)
        if not needle:
            return []
        pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")
        found = [s for s in within if s.clean and pattern.search(comparable_text(s.text))]
        return sorted(found, key=lambda s: not self.defines(term, s.text))

    @staticmethod
    def defines(term: str, text: str) -> bool:
        """Whether a sentence defines or explains `term`: "X is a ...", "Xs are small animals", "X, the ...",
        "X (life without water)", "called X", "long form (X)", "X refers to"; not "X is protected by ..." nor "Xs are
        used ..." (a predicate says something of X, not what X is)."""
        needle = re.escape(comparable_text(term))
        defining = re.compile(
            rf"(?<!\w){needle}\W{{0,3}}(?:(?:is|was|est|ist|es|è|é)\s+(?:also\s+|aussi\s+)?{_ARTICLES}"
            rf"|(?:are|were|sont|sind|son|sono|são)\s+(?!{_PREDICATE})"
            rf"|,\s+(?:or\s+|ou\s+)?{_ARTICLES}|\((?![^)]*\d)(?!see\b|fig|table|cf\b)[^\W\d][^)]*\s[^)]*\)"
            rf"|(?:refers?|means|denotes|désigne|signifie|bezeichnet|bedeutet)\b)"
            rf"|(?:called|termed|known as|named|defined as|define|appelée?s?|nommée?s?)\W+(?:the\s+|an?\s+)?"
            rf"[\"']?{needle}|\w\s+\({needle}s?\)")
        return bool(defining.search(comparable_text(text)))


def _prepend(first: Evidence | None, rest: list[Evidence]) -> list[Evidence] | None:
    return [first, *rest] if first and first.sentence_id not in {e.sentence_id for e in rest} else None


@dataclass
class Attempt:
    """An item on its way through grounding: its text, its evidence, and the verdict so far."""

    text: str
    evidence: list[Evidence]
    verdict: Verdict
    how: str = ""  # set once the item is grounded


def first_pass(source: Source, text: str, ids: list[str], within: list[SourceSentence],
               question: bool = False) -> Attempt:
    """Verify an item against the sentences it names, else against the sentences of its passage it matches."""
    text = clean_text(text)
    chosen = source.evidence(ids)
    if len(content_stems(text, source.language)) < MIN_CONTENT_WORDS or text.endswith("?") != question \
            or not legible(text, source.language):
        # too little to be a note (a citation, a heading), a question where a statement belongs (or the reverse), or
        # extraction debris copied
        return Attempt(text, chosen, Verdict(False, 0.0, ["not a note"]))
    if chosen and not _CLOSED.search(text) and not any(_CLOSED.search(e.quote.rstrip()) for e in chosen):
        return Attempt(text, chosen, Verdict(False, 0.0, ["cut off"]))  # copied from a sentence a page break cut
    verdict, evidence = source.supports(text, chosen)
    if verdict.supported:
        return Attempt(text, evidence, verdict, "verified")
    located = source.locate(text, within)
    if located and [e.sentence_id for e in located] != [e.sentence_id for e in chosen]:
        again, wider = source.supports(text, located)
        if again.supported:
            return Attempt(text, wider, again, "relocated")
    return Attempt(text, chosen or located, verdict)


def after_rewrite(source: Source, attempt: Attempt, rewrite: str | None, quote_allowed: bool = True) -> Attempt:
    """The rewritten text if its evidence supports it, else the quote itself (when allowed and readable), else
    nothing (how == "")."""
    if attempt.how:
        return attempt
    if rewrite:
        text = clean_text(rewrite)
        verdict, evidence = source.supports(text, attempt.evidence)
        if text and verdict.supported:
            return Attempt(text, evidence, verdict, "rewritten")
    if quote_allowed:
        for evidence in attempt.evidence:
            sentence = source.by_id.get(evidence.sentence_id)
            if quotable(sentence, source.language) and source.offered([sentence]):
                quoted = source.with_referent([evidence])
                return Attempt(quote_text(quoted), quoted, Verdict(True, 1.0), "quoted")
    return attempt


def quoted_by_id(source: Source, ids: list[str], within: list[SourceSentence]) -> Attempt | None:
    """A fact the model chose by id: its first sentence that reads as a note on its own, quoted (None if none)."""
    shown = {s.id for s in within}
    evidence = source.evidence([i for i in ids if i.strip().strip("[]") in shown])
    done = after_rewrite(source, Attempt("", evidence, Verdict(False, 0.0, ["chosen by id"])), None)
    return done if done.how else None


def offered(sentence: SourceSentence | None) -> bool:
    """A sentence a model may pick as evidence: clean, and not a heading (a title states nothing)."""
    return sentence is not None and sentence.clean and sentence.block_kind != "heading"


_CLOSED = re.compile(r"[.!?;\u2026][\"')\]\u201d\u2019\u00bb]*\s*$")
# "capabilities, and create ...": the rest of one a break cut; "A −tB = rAB c −v and ...", "4“Time” here denotes ...";
# a list's item that goes on from its lead-in ("2. treatment, with two possible values (a and b).")
_OPENS_MIDWAY = re.compile(r"\W*[a-z]{2,}[\s,;:.]|\d{1,2}[“\"‘']|\S{1,3}\s+[−=′∂]|(?:\d{1,2}|[a-z])[.)]\s+[a-z]")


# "A language undefined; (2) a comprehensive evaluation ...": a list's later item, its first one cut off before
_LATER_ITEM, _FIRST_ITEM = re.compile(r"[;,]\s*\((?:2|ii|b)\)\s"), re.compile(r"\((?:1|i|a)\)\s")
_PANEL = re.compile(r"\((?i:left|right|top|bottom|middle|center)\)|\([a-h]\)(?=\s+[A-Z])|^\([a-h]\)"
                    r"|^(?i:left|right|top|bottom|middle)\s*:")  # "(left)", "Right: a residual network ..."
_NAMED_NUMBER = re.compile(r"[^\W\d_][\w]*-\s?\d+|\b(?:19|20)\d\d\b(?!\s+[a-z]+s\b)")  # not "2048 images"


def quotable(sentence: SourceSentence | None, language: str = "en") -> bool:
    """A sentence that reads as a study note on its own: offered, of QUOTE_MIN_WORDS to QUOTE_MAX_WORDS words, closed
    like a sentence, not the document's roadmap, and in a caption only with a number."""
    if not offered(sentence):
        return False
    text = plain_text(sentence.text)
    if sentence.block_kind == "caption" and (not re.search(r"\d", _NAMED_NUMBER.sub("", CAPTION.sub("", text)))
                                             or _PANEL.search(text)):
        return False  # a caption's sentence names what a figure shows ("Residual learning: a building block.", "No
        # regularization of any kind was employed."): alone it misleads or says nothing; one with a number is a result
        # (a name's or a year's is none: "Table 1: Comparison of results on ILSVRC-2010 test set."), nor one that
        # points into the figure ("Training error (left) and test error (right) on CIFAR-10 ...")
    return QUOTE_MIN_WORDS <= len(text.split()) <= QUOTE_MAX_WORDS and not is_debris(text) and not text.endswith("?") \
        and bool(_CLOSED.search(text)) and legible(text, language) and not ROADMAP.match(text) \
        and not _OPENS_MIDWAY.match(text) and not (_LATER_ITEM.search(text) and not _FIRST_ITEM.search(text))


def highlighted(source: Source) -> list[SourceSentence]:
    """The body sentences a highlight of the reader's (Document.annotations) touches, in reading order."""
    spans = [(a.page, a.start, a.end) for a in source.document.annotations if a.start is not None and a.end is not None]
    return [s for s in source.index if any(page == s.page and start < s.end and s.start < end
                                           for page, start, end in spans)]


_CAPITALS_LEAD = re.compile(r"^\W*(?:[A-ZÀ-Ý][A-ZÀ-Ý'’\-]*[\s,]+){2,}[A-ZÀ-Ý][A-ZÀ-Ý'’\-]+(?=[\s,])")
MAX_EMPHASIZED = 3


def emphasized(source: Source) -> list[SourceSentence]:
    """Quotable sentences the document opens in capitals ("IL EST RÉSOLU À L'UNANIMITÉ D'APPROUVER la demande",
    "NOW, THEREFORE, BE IT RESOLVED that ..."): what a resolution decides, or what its authors set apart. Not a
    recital ("WHEREAS ..."), nor a label or run-in heading ("FOR FURTHER INFORMATION CONTACT: ...", "RULES OF
    CONSEQUENCE In addition ..."): three or more words in capitals that run on into the sentence in lower case. At most
    MAX_EMPHASIZED, in reading order."""
    found = []
    for sentence in source.index:
        text = plain_text(sentence.text)
        lead = _CAPITALS_LEAD.match(text)
        if lead and re.match(r"\s*[a-zà-ÿ]", text[lead.end():]) and quotable(sentence, source.language) \
                and not RECITAL.match(text) and source.offered([sentence]):
            found.append(sentence)
    return found[:MAX_EMPHASIZED]


def central_sentence(sentences: list[SourceSentence], language: str, said: list[str] = ()) -> SourceSentence | None:
    """The quotable sentence sharing the most content words with the rest of its section: what the section is
    about, when the model took no note of it; none that repeats a point `said` elsewhere."""
    candidates = [s for s in sentences if quotable(s, language)]
    if said:
        candidates = drop_duplicates(candidates, lambda s: readable(plain_text(s.text)), language, earlier=said)
    chosen = most_central(candidates, lambda s: plain_text(s.text), language, 1)
    return chosen[0] if chosen else None


def most_central(items: list, text_of, language: str, n: int) -> list:
    """The `n` items sharing the most content words with the others (what a passage is mostly about), in their
    order."""
    stems = [set(content_stems(text_of(item), language)) for item in items]
    everything: dict[str, int] = {}
    for group in stems:
        for stem in group:
            everything[stem] = everything.get(stem, 0) + 1
    scores = [sum(everything[w] - 1 for w in group) / (1 + len(group)) ** 0.5 for group in stems]
    best = sorted(range(len(items)), key=lambda i: (-scores[i], i))[:n]
    return [items[i] for i in sorted(best)]


def combine(text: str, points: list[Cited], language: str) -> Cited | None:
    """A sentence written from grounded points, kept if the union of their evidence supports it; else the first of
    the points (already grounded) stands in for it. None when no point was named."""
    if not points:
        return None
    evidence = union_evidence(points)
    text = clean_text(text)
    if text and evidence:
        verdict = verify(text, [e.quote for e in evidence], language, min_overlap=KEEP_OVERLAP)
        if verdict.supported:
            return Cited(text=text, pages=pages_of_evidence(evidence), evidence=evidence, grounding="verified")
    first = points[0]
    return first.model_copy(update={"grounding": "combined"}) if first.evidence else None


OPEN_MARKERS = re.compile(
    r"\b(?:unknown|unclear|uncertain(?:ty)?|unresolved|unanswered|open (?:question|problem|issue)s?|remains? (?:to be|"
    r"open|unclear|unknown|uncertain|a (?:question|mystery|puzzle))|future (?:work|research|stud(?:y|ies)|"
    r"investigation)|further (?:work|research|stud(?:y|ies)|investigation|experiments?) (?:is|are|will|would|could|"
    r"may|might|should)|not (?:yet|well|fully) (?:known|understood|clear|established)|we do not (?:yet )?know|"
    r"(?:is|are) not (?:yet )?(?:known|understood|clear)|hypothes[ie]s|speculat\w*|debated?|controversial|"
    r"inconnu|incertain|reste à|travaux futurs|unbekannt|ungeklärt|offen)\b", re.IGNORECASE)


def says_open(evidence: list[Evidence]) -> bool:
    """Whether the source itself calls the matter open, unknown, uncertain or left for future work."""
    return any(OPEN_MARKERS.search(e.quote) for e in evidence)


def union_evidence(points: list[Cited]) -> list[Evidence]:
    """The evidence of several points, each span once, in order."""
    seen, out = set(), []
    for point in points:
        for e in point.evidence:
            if (e.page, e.start, e.end) not in seen:
                seen.add((e.page, e.start, e.end))
                out.append(e)
    return out


def drop_duplicates(items: list, text_of, language: str, counts: GroundingCounts | None = None,
                    earlier: list[str] = ()) -> list:
    """Items without the near-duplicates of an earlier item (of this list, or of `earlier` texts)."""
    texts = list(earlier) + [text_of(i) for i in items]
    repeated = {j for i, j in duplicates(texts, DUPLICATE_SIMILARITY, language)}
    keep = [item for k, item in enumerate(items) if len(earlier) + k not in repeated]
    if counts is not None:
        counts.duplicates += len(items) - len(keep)
    return keep


def count(counts: GroundingCounts, how: str) -> None:
    """Add one outcome ("" is dropped)."""
    field = how or "dropped"
    setattr(counts, field, getattr(counts, field) + 1)


def circular(term: str, definition: str) -> bool:
    """A definition that uses its own term without saying what it is."""
    return bool(re.search(rf"(?<!\w){re.escape(comparable_text(term))}(?!\w)", comparable_text(definition))) \
        and not Source.defines(term, definition)
