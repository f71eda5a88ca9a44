"""Answering a question from a notebook's sources, with numbered citations, or saying the sources do not answer it.

1. Retrieve: the question's words (and, for a follow-up such as "and how long does it last?", the previous
   question's) are looked up in the FTS5 index; the best sentences by BM25, each with the sentence before and after
   it on its page, become passages.
2. Select and quote: the model sees the passages as numbered sentences under their source and page, answers with
   the numbers of the sentences that answer the question and one or two sentences taken from them (a small model
   selects and compresses well; it is not asked to know anything).
3. Verify: each sentence of the answer must be supported by the sentences it cites (`stages.verify`: numbers,
   names, negations, content); an unsupported sentence is dropped. When nothing the model wrote survives but the
   sentences it chose do answer, the answer is the best of them, quoted. When the model chose none, or the chosen
   sentences do not hold enough of what the question asks about, the answer is NOT_FOUND: never a guess.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import asdict, dataclass, field

from pydantic import BaseModel, Field

from ..llm.client import LLM, SchemaMismatch
from ..llm.prompts import render_messages
from ..text.lang import guess_language, language_name
from ..text.sentences import split_sentences
from .index import neighbours, search, search_terms

NOT_FOUND = "The sources do not answer this question."
HITS = 24  # sentences fetched from the index
PASSAGES = 6  # passages shown to the model (a hit and its neighbours each)
MAX_IDS = 3
MAX_ANSWER_CHARS = 400  # two sentences; the schema's limit also stops a small model that repeats itself
RELEVANCE = 0.5  # share of the question's search terms the chosen sentences and their neighbours must contain
FOLLOW_UP_WORDS = frozenset("it its they them their this that these those he she his her there such".split())
HISTORY_TURNS = 2
_CITATION_MARK = re.compile(r"\s*\[\d+\]")


class AskReply(BaseModel):
    """The model's answer: sentence numbers first (selection), then the answer taken from them."""

    ids: list[int] = Field(max_length=MAX_IDS)  # required, both: an empty object is no answer
    answer: str = Field(max_length=MAX_ANSWER_CHARS)


@dataclass
class Citation:
    n: int  # the number printed after the answer
    source: str  # file name
    title: str
    page: int
    quote: str


@dataclass
class Answer:
    question: str
    found: bool
    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # answer sentences the check refused
    quoted: bool = False  # True when the answer is a source sentence quoted, the model's wording having failed
    retrieval_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        """The answer and its numbered citations, as a terminal shows them."""
        if not self.found:
            return NOT_FOUND
        lines = [self.text, ""]
        lines += [f"[{c.n}] {c.source}, p. {c.page}: \u201c{c.quote}\u201d" for c in self.citations]
        return "\n".join(lines)


@dataclass
class Turn:
    question: str
    answer: str


@dataclass(frozen=True)
class _Shown:
    n: int
    passage: int
    rowid: int
    source_id: int
    page: int
    text: str


def ask(conn: sqlite3.Connection, llm: LLM, question: str, history: list[Turn] | None = None,
        source_ids: list[int] | None = None, prompts_dir: str | None = None, language: str | None = None) -> Answer:
    """The answer to `question` from the notebook's sources (see the module doc)."""
    history = (history or [])[-HISTORY_TURNS:]
    question = " ".join(question.split())
    lang = guess_language(question) if len(question.split()) >= 4 else "en"
    started = time.perf_counter()
    terms = search_terms(question, lang)
    asked = list(terms)
    if history and _is_follow_up(question, terms):
        terms = list(dict.fromkeys([*terms, *search_terms(history[-1].question, lang)]))
        asked = terms
    passages, shown = _passages(conn, search(conn, terms, HITS, source_ids))
    retrieval_ms = round((time.perf_counter() - started) * 1000, 2)
    answer = Answer(question=question, found=False, text=NOT_FOUND, retrieval_ms=retrieval_ms)
    if not shown:
        return answer
    said = [{"question": t.question, "answer": _CITATION_MARK.sub("", t.answer).strip()} for t in history]
    messages = render_messages("ask", prompts_dir, passages=passages, question=question, history=said,
                               language=language or language_name(lang))
    try:
        reply = llm.complete(messages, schema=AskReply, stage="ask", label=question[:60], temperature=0.0,
                             max_tokens=300).data
    except SchemaMismatch as exc:  # no usable answer is no answer: never a guess
        answer.dropped.append(str(exc))
        return answer
    by_n = {s.n: s for s in shown}
    chosen = [by_n[n] for n in dict.fromkeys(reply.ids) if n in by_n][:MAX_IDS]
    if not chosen:
        return answer
    return _verified(conn, answer, reply.answer, chosen, shown, asked, lang, question)


def _is_follow_up(question: str, terms: list[str]) -> bool:
    words = {w.strip("?,.!").lower() for w in question.split()}
    return len(terms) < 2 or bool(words & FOLLOW_UP_WORDS)


def _passages(conn: sqlite3.Connection, hits) -> tuple[list[dict], list[_Shown]]:
    """Up to PASSAGES passages from the hits, best first, none overlapping another; their sentences numbered."""
    taken: set[int] = set()
    names = {}
    passages, shown = [], []
    for hit in hits:
        if hit.rowid in taken:
            continue
        rows = [r for r in neighbours(conn, hit) if r["id"] not in taken]
        taken.update(r["id"] for r in rows)
        if hit.source_id not in names:
            names[hit.source_id] = conn.execute("SELECT name, title FROM sources WHERE id = ?",
                                                (hit.source_id,)).fetchone()
        sentences = []
        for row in rows:
            shown.append(_Shown(len(shown) + 1, len(passages), row["id"], row["source_id"], row["page"], row["text"]))
            sentences.append({"n": shown[-1].n, "text": " ".join(row["text"].split())})
        source = names[hit.source_id]
        passages.append({"name": source["name"], "title": source["title"] or source["name"], "page": hit.page,
                         "sentences": sentences})
        if len(passages) == PASSAGES:
            break
    return passages, shown


def _relevant(conn: sqlite3.Connection, chosen: list[_Shown], terms: list[str], lang: str) -> bool:
    """Whether the chosen sentences, with their neighbours, hold enough of what the question asks about: a model
    that picks the nearest sentence to a question the sources do not answer is caught here."""
    from ..stages.verify import content_stems

    wanted = set(content_stems(" ".join(terms), lang))
    if not wanted:
        return True
    context = []
    for shown in chosen:
        row = conn.execute("SELECT ordinal FROM sentences WHERE id = ?", (shown.rowid,)).fetchone()
        context += [r["text"] for r in conn.execute(
            "SELECT text FROM sentences WHERE source_id = ? AND ordinal BETWEEN ? AND ?",
            (shown.source_id, row["ordinal"] - 1, row["ordinal"] + 1))]
    have = set(content_stems(" ".join(context), lang))
    return len(wanted & have) / len(wanted) >= RELEVANCE


def _verified(conn, answer: Answer, text: str, chosen: list[_Shown], shown: list[_Shown], asked: list[str],
              lang: str, question: str) -> Answer:
    """The answer's sentences that source sentences support, each followed by its citation numbers.

    A sentence is checked against the sentences the model chose; when they do not support it, against each shown
    sentence alone and each pair of neighbours (a small model often cites the sentence next to the one it used).
    What no shown sentence supports is dropped. When nothing is left, the chosen sentence closest to what the
    model wrote is quoted instead. The cited sentences must hold what the question asks about, or the answer is
    NOT_FOUND."""
    from ..stages.verify import verify, verify_answer

    def supports(sentence: str, group: list[_Shown]) -> bool:
        evidence = [s.text for s in group]
        return verify(sentence, evidence, lang).supported or verify_answer(question, sentence, evidence,
                                                                           lang).supported

    groups = [chosen, *([s] for s in shown), *([a, b] for a, b in zip(shown, shown[1:]) if a.passage == b.passage)]
    relevant = {}

    def on_topic(group: list[_Shown]) -> bool:
        key = tuple(s.n for s in group)
        if key not in relevant:
            relevant[key] = _relevant(conn, group, asked, lang)
        return relevant[key]

    kept: list[tuple[str, list[_Shown]]] = []
    for sentence in split_sentences(text.strip()):
        supporting = [g for g in groups if supports(sentence, g)]
        if not supporting:
            answer.dropped.append(sentence)
            continue
        if supporting[0] is chosen and len(chosen) > 1:
            supporting[0] = [s for s in chosen if supports(sentence, [s])] or chosen
        kept.append((sentence, next((g for g in supporting if on_topic(g)), supporting[0])))
    if not kept:  # the wording failed the check, the choice did not: quote the chosen sentence nearest to it
        ranked = sorted(chosen, key=lambda s: (-_share(text, s.text, lang), -_share(question, s.text, lang)))
        best = next((s for s in ranked if on_topic([s])), ranked[0])
        kept, answer.quoted = [(f"\u201c{' '.join(best.text.split())}\u201d", [best])], True
    if not any(on_topic(group) for _, group in kept):
        answer.dropped = [sentence for sentence, _ in kept] + answer.dropped
        return answer
    cited = list(dict.fromkeys(s for _, group in kept for s in group))
    number = {s.n: i + 1 for i, s in enumerate(cited)}
    names = {}
    for s in cited:
        if s.source_id not in names:
            names[s.source_id] = conn.execute("SELECT name, title FROM sources WHERE id = ?",
                                              (s.source_id,)).fetchone()
    answer.citations = [Citation(number[s.n], names[s.source_id]["name"], names[s.source_id]["title"], s.page,
                                 " ".join(s.text.split())) for s in cited]
    answer.text = " ".join(f"{sentence} " + "".join(f"[{number[s.n]}]" for s in group) for sentence, group in kept)
    answer.found = True
    return answer


def _share(text: str, quote: str, lang: str) -> float:
    """The share of `text`'s content stems found in `quote` (0 when it has none)."""
    from ..stages.verify import content_stems

    stems = set(content_stems(text, lang))
    return len(stems & set(content_stems(quote, lang))) / len(stems) if stems else 0.0


__all__ = ["NOT_FOUND", "Answer", "Citation", "Turn", "ask"]
