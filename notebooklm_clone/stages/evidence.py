"""Evidence: the body of a Document as numbered source sentences, and the verbatim span a study item rests on.

A grounded item does not restate the document from a model's memory: the model is shown numbered sentences
(`numbered_sentences`) and answers with their ids, and `evidence_for` turns those ids back into exact spans of the
page text. `find_evidence` does the same for a quote or a statement that came back as text.

Ids are "s1", "s2", ... in reading order over the body blocks (references excluded): short, so citing one costs a
token or two, and the same for the same document because extraction is deterministic. Offsets are into
`Document.page_text(page)` (the page's blocks joined by "\\n\\n"), found at or after the previous sentence of the
block, so a sentence repeated on a page gets its own span; `text` is always the verbatim slice.

Debris stays in the index with `clean=False` rather than being left out: ids then do not shift when the debris rule
changes, and a quote that runs into debris can still be located. A model is never offered debris, and ids of debris
give no evidence. Debris is a sentence with a replacement character (U+FFFD), one with no word of three letters once
reference markers are removed ("[12]", "(3)", "x = y"), one mostly made of digits and symbols (a broken equation, a
table row), and a short block found alone on several pages (a running header the reader did not catch).
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..models import Chunk, Document, Evidence, SourceSentence
from ..text.citations import strip_citation_marks
from ..text.sentences import split_sentences
from .legible import AFFILIATION
from .verify import content_stems

HEADER_MAX_WORDS = 12  # a running header or footer is a short line
HEADER_MIN_PAGES = 3
HEADER_MIN_SHARE = 0.2  # of the pages that have body text
LEAD_MAX_WORDS = 12  # an unclosed paragraph this short that the next completes is one sentence with it
MIN_LETTER_SHARE = 0.5  # below both this share of letters among characters and this share of words among tokens:
MIN_WORD_SHARE = 0.5  # debris (an equation or a row of numbers)
DATA_ROW_NUMBERS = 4  # tokens with digits, half the tokens or more: a table's row
MAX_WINDOW = 3  # a near-verbatim statement is matched against runs of up to this many sentences of one page
MIN_RECALL = 0.6  # share of a statement's content words a run must hold to count as its source
MIN_F1 = 0.45

_WORD = re.compile(r"[^\W\d_]{2,}")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = {ord("\u2018"): "'", ord("\u2019"): "'", ord("\u201b"): "'", ord("`"): "'", ord("\u201c"): '"',
           ord("\u201d"): '"'}
_FOLD = {**_DASHES, **_QUOTES}


# a footnote set apart at the foot of a page ("∗Equal contribution. Listing order is random. Jakob proposed ...",
# "†Work performed while at Google Brain.", "4To illustrate why ..."): who did what, where, or an aside
_FOOTNOTE_BLOCK = re.compile(r"^\s*(?:[∗†‡‖]|[§¶](?=[^\W\d_])|\*(?=[^\W\d_])(?![^*\n]*\*)"
                             r"|\d{1,2}(?=[A-Z][a-z]+\s))")  # not "§ 39.13", "*italic*", "40Ar/39Ar", "14C"


# a sentence cut off on a word that cannot end one: what follows it is its rest
_CUT_AFTER = re.compile(r"\b(?:and|or|the|of|where|with|is|are|that|which|to|in|by|for|a|an)\s*$")


def sentence_index(document: Document) -> list[SourceSentence]:
    """Every sentence of the body blocks with its page, exact span in the page text, section and debris flag (set
    for debris, running headers, footnotes and the rest of a debris sentence cut off mid-way)."""
    headers = _running_headers(document)
    out: list[SourceSentence] = []
    previous = None
    for block, base in _body_blocks_with_offsets(document):
        aside = (_header_key(block.text) in headers and block.kind != "heading") or bool(_FOOTNOTE_BLOCK.match(block.text))
        byline = bool(block.section) and bool(AFFILIATION.search(block.section[-1]))  # an author line as a heading
        cursor = 0
        for k, sentence in enumerate(split_sentences(block.text)):
            span = _locate(block.text, sentence, cursor)
            if span is None:  # the splitter changed more than whitespace: nothing verbatim to point at
                continue
            start, end = span
            cursor = end
            text = block.text[start:end]
            if k == 0 and previous is not None and _leads_into(previous, block, out[-1], text):
                lead = out.pop()
                text = document.page_text(block.page)[lead.start: base + end]
                start = lead.start - base
            rest_of_debris = bool(out) and out[-1].page == block.page and bool(_CUT_AFTER.search(out[-1].text)) \
                and is_debris(out[-1].text)  # "..., and" + "Di is the average over ...": one sentence
            out.append(SourceSentence(
                id=f"s{len(out) + 1}", page=block.page, start=base + start, end=base + end, text=text,
                section=list(block.section), block_kind=block.kind,
                clean=not aside and not rest_of_debris and not is_debris(text)
                and not (byline and AFFILIATION.search(text)),  # "Hammer is a ... Fellow at the Institute ..."
            ))  # fmt: skip
        previous = block
    return out


def _leads_into(previous, block, lead: SourceSentence, text: str) -> bool:
    """A short paragraph without a closing mark that the next paragraph of the page completes: a resolution's
    "IL EST RÉSOLU À L'UNANIMITÉ" before "D'APPROUVER la demande ...", or a sentence broken mid-way ("... of the"
    before "cell"). One sentence then, so the decision is quoted whole."""
    return (previous.kind == block.kind == "paragraph" and previous.page == block.page
            and previous.section == block.section and lead.end - lead.start == len(previous.text.rstrip())
            and previous.text.rstrip()[-1:].isalnum() and len(lead.text.split()) <= LEAD_MAX_WORDS
            and (_mostly_capitals(lead.text) or text[:1].islower()))


def _mostly_capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def plain_text(text: str) -> str:
    """The sentence without reference and page markers ("[12]", "(p. 4)"), for reading or comparing; the quote
    keeps them because it is verbatim."""
    return " ".join(strip_citation_marks(text).split())


def is_debris(text: str) -> bool:
    """Extraction debris by its own text (see the module docstring); running headers need the whole document."""
    if "\ufffd" in text:
        return True
    plain = plain_text(text)
    words = _WORD.findall(plain)
    if not any(len(w) >= 3 for w in words):
        return True
    tokens = plain.split()
    numbers = sum(any(c.isdigit() for c in t) for t in tokens)
    if numbers >= DATA_ROW_NUMBERS and numbers >= 0.5 * len(tokens) and len(re.findall(r"\b[a-z]{3,}", plain)) < 4:
        return True  # a table's row ("2000-09-02 1 91 2000 2Ge+her 3:15 The Hardest Part Of..."), not a sentence
        # of numbers ("We compare n = {3, 5, 7, 9}, leading to 20, 32, 44, and 56-layer networks.")
    chars = [c for c in plain if not c.isspace()]
    letters = sum(c.isalpha() for c in chars)
    return letters < MIN_LETTER_SHARE * len(chars) and len(words) < MIN_WORD_SHARE * len(plain.split())


def numbered_sentences(sentences: list[SourceSentence]) -> str:
    """'[s12] text' lines for a prompt, debris left out. The text is data to select from; the ids are the only thing
    a model should give back."""
    return "\n".join(f"[{s.id}] {' '.join(s.text.split())}" for s in sentences if s.clean)


def evidence_for(index: list[SourceSentence], ids: list[str]) -> list[Evidence]:
    """Evidence for the ids a model chose, in its order, once each. Ids that are not in the index (invented) or
    that name debris (never offered) give nothing."""
    by_id = {s.id: s for s in index}
    out, seen = [], set()
    for raw in ids:
        key = raw.strip().strip("[]")
        sentence = by_id.get(key)
        if sentence is None or not sentence.clean or key in seen:
            continue
        seen.add(key)
        out.append(_evidence(sentence, sentence.start, sentence.end, sentence.text))
    return out


def find_evidence(source: Document | list[SourceSentence], quote: str, pages: list[int] | None = None,
                  index: list[SourceSentence] | None = None) -> Evidence | None:
    """Where a quote or near-verbatim statement sits: the exact text first, then the text up to whitespace, case,
    dashes and quotes, then the run of at most MAX_WINDOW sentences of one page sharing most of its content words.
    `pages` (the pages an item cites) are searched first, then the rest. Only the body counts.

    Given a Document, a match may run over several sentences and the quote is the page text between. Given only an
    index, the text between sentences is unknown, so a match stays within one sentence. Pass the document's `index`
    too when locating many items, so it is built once."""
    quote = quote.strip()
    if not quote:
        return None
    if not isinstance(source, Document):
        index = source
    elif index is None:
        index = sentence_index(source)
    texts = _page_texts(source, index)
    order = _page_order(texts, pages)
    by_page: dict[int, list[SourceSentence]] = defaultdict(list)
    for sentence in index:
        by_page[sentence.page].append(sentence)
    for match in (_exact, _normalised):
        for page in order:
            for text, offset in texts[page]:
                for start, end in match(text, quote):
                    found = _anchored(by_page[page], offset + start, offset + end)
                    if found:
                        return _evidence(found, offset + start, offset + end, text[start:end])
    return _best_overlap(quote, order, by_page, whole_pages=isinstance(source, Document), document=source)


def sentences_in(chunk: Chunk, index: list[SourceSentence]) -> list[SourceSentence]:
    """The indexed sentences a chunk's text holds, in order, including sentences carried over as overlap and a
    sentence cut between two chunks (one longer than a chunk belongs to both). A references chunk holds none.

    Up to whitespace and case, a body chunk is a stretch of its pages' sentences joined by spaces (the chunker joins
    blocks, sentences and words of the same text), so the chunk is found in that stretch and the sentences it
    overlaps are its own. A chunk that is not such a stretch (a giant word cut by characters) gets the sentences
    found whole in it."""
    if chunk.is_references:
        return []
    haystack, _ = _normalise(chunk.text)
    candidates = [s for s in index if chunk.page_start <= s.page <= chunk.page_end]
    needles = [_normalise(s.text)[0] for s in candidates]
    starts, offset = [], 0
    for needle in needles:
        starts.append(offset)
        offset += len(needle) + 1
    at = " ".join(needles).find(haystack) if haystack else -1
    if at >= 0:
        end = at + len(haystack)
        return [s for s, begin, needle in zip(candidates, starts, needles) if begin < end and at < begin + len(needle)]
    out, cursor = [], 0
    for sentence, needle in zip(candidates, needles):
        found = haystack.find(needle, cursor)
        if found >= 0:
            out.append(sentence)
            cursor = found + len(needle)
    return out


# ---------------------------------------------------------------------------------------------------------------------


def _body_blocks_with_offsets(document: Document):
    """(block, offset of its text in its page's text) for the body blocks, offsets as `Document.page_text` joins."""
    ends: dict[int, int] = {}
    for block in document.blocks:
        start = ends[block.page] + 2 if block.page in ends else 0
        ends[block.page] = start + len(block.text)
        if block.kind != "references":
            yield block, start


def _header_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _running_headers(document: Document) -> set[str]:
    """Short one-sentence blocks (digits ignored) that stand alone on many pages."""
    pages: dict[str, set[int]] = defaultdict(set)
    body = document.body_blocks()
    for block in body:
        if block.kind != "heading" and len(block.text.split()) <= HEADER_MAX_WORDS \
                and len(split_sentences(block.text)) == 1:
            pages[_header_key(block.text)].add(block.page)
    with_text = len({b.page for b in body})
    need = max(HEADER_MIN_PAGES, HEADER_MIN_SHARE * with_text)
    return {key for key, found in pages.items() if len(found) >= need}


def _locate(text: str, sentence: str, cursor: int) -> tuple[int, int] | None:
    """Span of `sentence` in `text` at or after `cursor`: verbatim, else with any whitespace between its words."""
    at = text.find(sentence, cursor)
    if at >= 0:
        return at, at + len(sentence)
    match = re.compile(r"\s+".join(re.escape(w) for w in sentence.split())).search(text, cursor)
    return match.span() if match else None


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lowercase, one kind of dash and quote, soft hyphens dropped, whitespace runs as one space; with the offset in
    `text` of every character kept, so a match maps back to an exact span."""
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        if char == "\u00ad":
            continue
        if char.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                where.append(i)
            continue
        folded = char.translate(_FOLD).lower()
        out.append(folded if len(folded) == 1 else char)
        where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


def _exact(text: str, quote: str):
    at = text.find(quote)
    while at >= 0:
        yield at, at + len(quote)
        at = text.find(quote, at + 1)


def _normalised(text: str, quote: str):
    haystack, where = _normalise(text)
    needle, _ = _normalise(quote)
    if not needle:
        return
    at = haystack.find(needle)
    while at >= 0:
        yield where[at], where[at + len(needle) - 1] + 1
        at = haystack.find(needle, at + 1)


def _page_texts(source: Document | list[SourceSentence], index: list[SourceSentence]):
    """page -> [(searchable text, its offset in the page text)]: the whole page, or each sentence alone."""
    texts: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if isinstance(source, Document):
        for page in sorted({s.page for s in index}):
            texts[page].append((source.page_text(page), 0))
    else:
        for sentence in index:
            texts[sentence.page].append((sentence.text, sentence.start))
    return texts


def _page_order(texts: dict, pages: list[int] | None) -> list[int]:
    first = [p for p in (pages or []) if p in texts]
    return list(dict.fromkeys(first + sorted(texts)))


def _anchored(sentences: list[SourceSentence], start: int, end: int) -> SourceSentence | None:
    """The first clean body sentence a span touches, else the first one (None when it lies in references or between
    sentences)."""
    touched = [s for s in sentences if s.start < end and start < s.end]
    return next((s for s in touched if s.clean), touched[0] if touched else None)


def _evidence(sentence: SourceSentence, start: int, end: int, quote: str) -> Evidence:
    return Evidence(sentence_id=sentence.id, page=sentence.page, start=start, end=end, quote=quote)


def _content(text: str) -> set[str]:
    """The content words the verifier reads (verify.content_stems), plus the numbers, which tell sentences apart."""
    plain = plain_text(text)
    return set(content_stems(plain)) | set(re.findall(r"\d+(?:\.\d+)?", plain))


def _best_overlap(quote: str, order: list[int], by_page: dict[int, list[SourceSentence]], whole_pages: bool,
                  document) -> Evidence | None:
    wanted = _content(quote)
    if not wanted:
        return None
    best, best_score = None, 0.0
    for page in order:
        sentences = [s for s in by_page[page] if s.clean]
        words = [_content(s.text) for s in sentences]
        for i in range(len(sentences)):
            run: set[str] = set()
            for j in range(i, min(len(sentences), i + (MAX_WINDOW if whole_pages else 1))):
                run |= words[j]
                shared = len(wanted & run)
                recall, precision = shared / len(wanted), shared / max(1, len(run))
                score = 2 * recall * precision / (recall + precision) if shared else 0.0
                if recall >= MIN_RECALL and score >= MIN_F1 and score > best_score:
                    best, best_score = (sentences[i], sentences[j]), score
    if best is None:
        return None
    first, last = best
    text = document.page_text(first.page)[first.start:last.end] if whole_pages else first.text
    return _evidence(first, first.start, last.end, text)
