"""The files of the notes stage: summary.md, notes.md, cards.csv + cards.apkg (Anki), quiz.md and notes.json.

Every bullet ends with its page citation, "(p. 4)" or "(pp. 4-5)", and a footnote with the verbatim source sentence
it rests on (notes.json has the exact spans). Files are written atomically; the Anki deck and note ids derive from
the document hash, so re-importing an updated deck updates the cards instead of duplicating them.
"""

from __future__ import annotations

import csv
import html
import io
import os
import tempfile
from pathlib import Path

from ..models import Cited, Document, Evidence, NotesResult, Question
from ..stages.citations import format_pages
from ..store import atomic_write_json, atomic_write_text


def _heading(result: NotesResult, document: Document) -> str:
    lines = [f"# {result.title}", ""]
    if document.authors:
        lines += [f"*{', '.join(document.authors)}*", ""]
    if document.page_sources:  # a notebook: each source with its page count
        counts: dict[str, int] = {}
        for name, _ in document.page_sources.values():
            counts[name] = counts.get(name, 0) + 1
        listed = ", ".join(f"`{name}` ({n} page{'s' * (n != 1)})" for name, n in counts.items())
        lines += [f"Sources: {listed}", ""]
    else:
        n = document.page_count
        lines += [f"Source: `{Path(document.source).name}` ({n} page{'s' * (n != 1)})", ""]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


QUOTE_MAX_CHARS = 400  # of a footnote's quote; notes.json keeps the whole span


class Footnotes:
    """Markdown footnotes holding the source quotes: each distinct quote once, numbered in order of first use."""

    def __init__(self, sources: dict[int, tuple[str, int]] | None = None):
        self.numbers: dict[tuple, int] = {}
        self.lines: list[str] = []
        self.sources = sources or {}  # a notebook's page -> (source, page in it)

    def pages(self, pages: list[int]) -> str:
        """(p. 4), or (memo.pdf, p. 1) in a notebook."""
        return format_pages(pages, self.sources)

    def mark(self, evidence: list[Evidence]) -> str:
        marks = []
        for e in evidence:
            key = (e.page, e.start, e.end)
            if key not in self.numbers:
                self.numbers[key] = len(self.numbers) + 1
                quote = _one_line(e.quote)
                if len(quote) > QUOTE_MAX_CHARS:
                    quote = quote[:QUOTE_MAX_CHARS].rsplit(" ", 1)[0] + " …"
                self.lines.append(f'[^{self.numbers[key]}]: {self.pages([e.page])[1:-1]}: "{quote}"')
            marks.append(f"[^{self.numbers[key]}]")
        return "".join(marks)

    def section(self) -> list[str]:
        return ["", "## Sources", "", *self.lines] if self.lines else []


def _bullet(text: str, pages: list[int], evidence: list[Evidence], notes: Footnotes) -> str:
    return f"- {_one_line(text)} {notes.pages(pages)}{notes.mark(evidence)}"


def summary_markdown(result: NotesResult, document: Document) -> str:
    summary = result.summary
    notes = Footnotes(result.page_sources)
    lines = [_heading(result, document), "## Abstract", ""]
    lines += [_bullet(s.text, s.pages, s.evidence, notes) for s in summary.abstract] or ["- (no abstract)"]
    shown = [section for section in summary.sections if section.sentences]
    if shown:  # a one-page memo has no sections to go through
        lines += ["", "## Section by section", ""]
    for section in shown:
        lines += [f"### {section.title} {notes.pages(section.pages)}", ""]
        lines += [_bullet(s.text, s.pages, s.evidence, notes) for s in section.sentences]
        lines.append("")
    return "\n".join(lines + notes.section()).rstrip() + "\n"


ACROSS_SOURCES = "Across the sources"


def sections(result: NotesResult) -> list[tuple[list[str], list[Cited]]]:
    """The key points and facts by section, each point once, each section once: what notes.md
    and the study page both show. In a notebook, the themes its sources share come first ("Across the sources >
    Trehalose"), each with every source's points on it; those points are not shown again under their source."""
    out: list[tuple[list[str], list[Cited]]] = []
    seen: set[str] = set()

    def first_time(point: Cited) -> bool:
        key = " ".join(point.text.lower().split())
        if key in seen:
            return False
        seen.add(key)
        return True

    for theme in result.themes:
        points = [p for p in theme.points if first_time(p)]
        if points:
            out.append(([ACROSS_SOURCES, theme.label[:1].upper() + theme.label[1:]], points))
    for chunk in result.chunk_notes:
        points = [p for p in chunk.key_points + chunk.facts if first_time(p)]
        if not points:
            continue
        earlier = next((group for section, group in out if section == chunk.section), None)
        if earlier is not None:  # a chunk's note on a sentence of an earlier section joins that section's points
            earlier.extend(points)
        else:
            out.append((chunk.section, points))
    return out


def unanswered_questions(result: NotesResult) -> list[Question]:
    """The map's questions that the Q&A does not already answer (a question is listed once)."""
    answered = {" ".join(p.question.split()) for p in result.qa}
    return [q for n in result.chunk_notes for q in n.questions if " ".join(q.text.split()) not in answered]


def notes_markdown(result: NotesResult, document: Document) -> str:
    lines = [_heading(result, document), "## Key points", ""]
    notes = Footnotes(result.page_sources)
    for n, (section, items) in enumerate(sections(result)):
        heading = f"### {' > '.join(section) or 'Overview'}"
        lines += ["", heading, ""] if n else [heading, ""]
        lines += [_bullet(p.text, p.pages, p.evidence, notes) for p in items]
    lines += reader_marks(document)
    if result.glossary:  # no heading over nothing: a term is listed only where the document defines it
        lines += ["", "## Glossary", ""]
        lines += [_bullet(f"**{_one_line(t.term)}**: {t.definition}", t.pages, t.evidence, notes)
                  for t in result.glossary]
    if result.qa:
        lines += ["", "## Questions and answers", ""]
    for pair in result.qa:
        lines += [f"- **Q:** {_one_line(pair.question)}",
                  f"  **A:** {_one_line(pair.answer)} {notes.pages(pair.pages)}{notes.mark(pair.evidence)}"]
    questions = unanswered_questions(result)
    for title, wanted in (("Open questions", True), ("Check yourself", False)):
        chosen = [q for q in questions if q.open == wanted]
        if chosen:
            lines += ["", f"## {title}", ""]
            lines += [_bullet(q.text, q.pages, q.evidence, notes) for q in chosen]
    return "\n".join(lines + notes.section()).rstrip() + "\n"


_MARKED = {"Highlight": "highlighted", "Underline": "underlined", "StrikeOut": "struck out", "Squiggly": "marked"}


def reader_marks(document: Document) -> list[str]:
    """The reader's own highlights and notes under a heading of their own: shown as theirs, never as the authors'
    (they are no source of any key point, answer or quiz question)."""
    marks = sorted((a for a in document.annotations if a.text or a.quote), key=lambda a: (a.page, a.rect[1], a.rect[0]))
    if not marks:
        return []
    lines = ["", "## Your highlights and notes", "", "_What the document's reader marked and wrote on it._", ""]
    for a in marks:
        parts = [f'{_MARKED.get(a.kind, "marked")} "{_one_line(a.quote)}"'] if a.quote else []
        parts += [f'your note: "{_one_line(a.text)}"'] if a.text else []
        lines.append(f"- p. {a.page}, " + "; ".join(parts))
    return lines


def quiz_markdown(result: NotesResult, document: Document) -> str:
    lines = [_heading(result, document), "## Quiz", ""]
    if not result.quiz:  # a short document's few facts with a number or a name may all be asked in the Q&A already
        why = "every fact it could ask about is a question of the Q&A in notes.md" if result.qa else \
            "no question with a right answer and three wrong ones from the document could be made"
        return "\n".join(lines + [f"No quiz for this document: {why}."]) + "\n"
    for i, q in enumerate(result.quiz, 1):
        lines += [f"{i}. {_one_line(q.question)}", ""]
        lines += [f"   {letter}) {_one_line(option)}" for letter, option in zip("ABCD", q.options)]
        lines.append("")
    lines += ["## Answers", ""]
    notes = Footnotes(result.page_sources)
    for i, q in enumerate(result.quiz, 1):
        lines.append(f"{i}. {q.answer}) {_one_line(q.correct)}: read {notes.pages(q.pages)[1:-1]}"
                     f"{notes.mark(q.evidence)}")
    return "\n".join(lines + notes.section()).rstrip() + "\n"


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection: a leading = + - @ tab or CR
    gets an apostrophe)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def cards_csv(result: NotesResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["front", "back", "pages", "kind"])
    for card in result.cards:
        writer.writerow([spreadsheet_safe(cell) for cell in
                         (card.front, card.back, format_pages(card.pages, result.page_sources)[1:-1], card.kind)])
    return buffer.getvalue()


def _anki_id(sha256: str, salt: str) -> int:
    """A stable 31-bit id from the document hash (Anki wants ids below 2**63; genanki's examples use this range)."""
    import hashlib

    return (1 << 30) + int(hashlib.sha256(f"{salt}:{sha256}".encode()).hexdigest()[:8], 16) % (1 << 30)


def write_apkg(result: NotesResult, path: Path) -> Path:
    import genanki

    model = genanki.Model(
        _anki_id(result.document, "model"),
        "notebooklm-clone card",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Pages"}],
        templates=[{
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<br><small>{{Pages}}</small>',
        }],
    )  # fmt: skip
    deck = genanki.Deck(_anki_id(result.document, "deck"), result.title)
    for card in result.cards:
        deck.add_note(genanki.Note(
            model=model, fields=[html.escape(card.front), html.escape(card.back), format_pages(card.pages)],
            guid=genanki.guid_for(result.document, card.kind, card.front),
        ))  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        genanki.Package(deck).write_to_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_study(result: NotesResult, document: Document, out_dir: str | Path, products) -> dict[str, str]:
    """Write the requested study products and, when any was requested, notes.json with all the data (report.json
    lists it); returns output name -> path. A script-only run (no products) writes nothing."""
    out_dir = Path(out_dir)
    files: dict[str, str] = {}
    if "summary" in products and result.summary is not None:
        files["summary"] = str(atomic_write_text(out_dir / "summary.md", summary_markdown(result, document)))
    if "notes" in products:
        files["notes"] = str(atomic_write_text(out_dir / "notes.md", notes_markdown(result, document)))
    if "cards" in products:
        files["cards_csv"] = str(atomic_write_text(out_dir / "cards.csv", cards_csv(result)))
        files["cards_apkg"] = str(write_apkg(result, out_dir / "cards.apkg"))
    if "quiz" in products:
        files["quiz"] = str(atomic_write_text(out_dir / "quiz.md", quiz_markdown(result, document)))
    if products:
        data = result.model_copy(update={"files": dict(files)})
        files["notes_data"] = str(atomic_write_json(out_dir / "notes.json", data))
    return files
