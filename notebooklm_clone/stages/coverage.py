"""The notes skip no part of the document and no sentence it stresses: a body section the model took no note on gets
its most central sentence, and a highlighted or capital-led sentence is a key point, both quoted as written; a term
the document defines is in the glossary, in the document's words."""

from __future__ import annotations

from ..models import Chunk, ChunkNotes, Cited, GroundingCounts, SourceSentence
from .definitions import defined_terms
from .evidence import sentences_in
from .grounding import (
    Source,
    central_sentence,
    count,
    drop_duplicates,
    emphasized,
    highlighted,
    pages_of_evidence,
    quotable,
    quote_text,
)
from .verify import content_stems

MIN_SECTION_WORDS = 25  # a shorter section (a caption, a one-line aside) need not have a key point of its own


def every_section_noted(notes: list[ChunkNotes], chunks: list[Chunk], source: Source,
                        counts: GroundingCounts) -> list[ChunkNotes]:
    """A section or subsection of the body no key point rests on gets its most central sentence, quoted: a student's
    notes skip no part of the document, even when one chunk spans several sections and the model noted the first
    (alexnet's "3.4 Overlapping Pooling" shared a chunk with 3.3 and had no point)."""
    noted = {tuple(source.by_id[e.sentence_id].section) for n in notes for p in n.key_points + n.facts
             for e in p.evidence if e.sentence_id in source.by_id}
    owners = _owners(chunks, source)
    by_section: dict[tuple[str, ...], list[SourceSentence]] = {}
    for sentence in source.offered([source.by_id[i] for i in owners]):
        by_section.setdefault(tuple(sentence.section), []).append(sentence)
    for section, sentences in by_section.items():
        if section in noted or sum(len(s.text.split()) for s in sentences) < MIN_SECTION_WORDS:
            continue
        central = central_sentence(sentences, source.language, [p.text for n in notes for p in n.key_points + n.facts])
        if central is None:
            continue
        evidence = source.with_referent(source.evidence([central.id]))
        point = Cited(text=quote_text(evidence), pages=pages_of_evidence(evidence), evidence=evidence,
                      grounding="quoted")
        count(counts, "quoted")
        _owner(notes, owners[central.id]).key_points.append(point)
    return notes


def every_highlight_noted(notes: list[ChunkNotes], chunks: list[Chunk], source: Source,
                          counts: GroundingCounts) -> list[ChunkNotes]:
    """A sentence the reader highlighted, or the document set in capitals, is among the key points: quoted (the
    authors' words, cited like any other point) when no point says it yet (one listing it as a second source does
    not). What the reader wrote never becomes a point: it is not in the text."""
    noted = {e.sentence_id for n in notes for p in n.key_points + n.facts for e in p.evidence
             if _says(p.text, e.quote, source.language)}
    owners = _owners(chunks, source)
    for sentence in highlighted(source) + emphasized(source):
        chunk = owners.get(sentence.id)
        if chunk is None or sentence.id in noted or not quotable(sentence, source.language):
            continue
        noted.add(sentence.id)
        evidence = source.with_referent(source.evidence([sentence.id]))
        point = Cited(text=quote_text(evidence), pages=pages_of_evidence(evidence), evidence=evidence,
                      grounding="quoted")
        said = next(((n, kind, k) for n in notes for kind in ("key_points", "facts")
                     for k, p in enumerate(getattr(n, kind))
                     if not drop_duplicates([point.text], str, source.language, earlier=[p.text])), None)
        if said is not None:  # a point says much the same from another sentence: the one the document stresses wins
            holder, kind, k = said  # (the minutes' decision, not the request it approves)
            getattr(holder, kind)[k] = point
            continue
        count(counts, "quoted")
        _owner(notes, chunk).key_points.append(point)
    return notes


SAYS_SHARE = 0.6  # of a sentence's content words a point must hold to say what the sentence says


def _says(text: str, sentence: str, language: str) -> bool:
    stems = set(content_stems(sentence, language))
    return bool(stems) and len(stems & set(content_stems(text, language))) / len(stems) >= SAYS_SHARE


def every_definition_noted(notes: list[ChunkNotes], chunks: list[Chunk], source: Source,
                           counts: GroundingCounts) -> list[ChunkNotes]:
    """Each term a chunk's sentences define (an abbreviation's long form, a name given, "X is a ...") joins its
    glossary entries unless the model defined the term in its own words; a sentence the model quoted for it gives
    way to the one that says what the term is ("called dropout, consists of ..." for "called dropout that proved
    ...")."""
    owners = _owners(chunks, source)
    noted = {t.term.lower(): n for n in notes for t in n.terms}
    for term in defined_terms(source, [source.by_id[i] for i in owners]):
        key = term.term.lower()
        if key in noted:
            holder = noted[key]
            holder.terms = [term if t.term.lower() == key and t.grounding == "quoted" else t for t in holder.terms]
            continue
        noted[key] = _owner(notes, owners[term.evidence[0].sentence_id])
        count(counts, "quoted")
        noted[key].terms.append(term)
    return notes


def _owners(chunks: list[Chunk], source: Source) -> dict[str, Chunk]:
    """Sentence id -> the first chunk holding it (chunks overlap), in reading order."""
    owners: dict[str, Chunk] = {}
    for chunk in chunks:
        for sentence in sentences_in(chunk, source.index):
            owners.setdefault(sentence.id, chunk)
    return owners


def _owner(notes: list[ChunkNotes], chunk: Chunk) -> ChunkNotes:
    """The notes of `chunk`, made (in chunk order) when the model took none."""
    owner = next((n for n in notes if n.chunk == chunk.index), None)
    if owner is None:
        owner = ChunkNotes(chunk=chunk.index, section=chunk.section, pages=chunk.pages)
        notes.append(owner)
        notes.sort(key=lambda n: n.chunk)
    return owner


def by_section(notes: list[ChunkNotes], source: Source) -> list[ChunkNotes]:
    """Each chunk's notes split by the section their sentences are in, in reading order: a chunk spanning "3.3" and
    "3.4" listed the points on overlapping pooling under local response normalization."""
    kinds = ("key_points", "facts", "terms", "questions")
    out: list[ChunkNotes] = []
    for n in notes:
        parts: dict[tuple[str, ...], ChunkNotes] = {}
        starts: dict[tuple[str, ...], int] = {}  # a part's first sentence in the document
        for kind in kinds:
            for item in getattr(n, kind):
                sentence = source.by_id.get(item.evidence[0].sentence_id) if item.evidence else None
                key, at = (tuple(sentence.section), source.position[sentence.id]) if sentence else (tuple(n.section), 0)
                starts[key] = min(starts.get(key, at), at)
                part = parts.setdefault(key, ChunkNotes(chunk=n.chunk, section=list(key), pages=[]))
                getattr(part, kind).append(item)
        for key in sorted(parts, key=starts.__getitem__):
            part = parts[key]
            part.pages = sorted({p for kind in kinds for item in getattr(part, kind) for p in item.pages}) or n.pages
            out.append(part)
    return out
