"""<out>/index.html: the study page. One file that works offline from disk: the summary and notes with their
evidence, the podcast with chapters and a transcript that follows the audio, flashcards, the quiz and an outline.

It is rendered from the files of the document's folder (notes.json, script.json, podcast.json), never from a
stage's memory, so a rerun that makes fewer products, or a batch, can render it again. Only the outputs of the
current run are shown (`current`), never leftovers of an earlier run with other products. Everything from the
document goes through Jinja2's autoescape; the CSS and JS (resources/page/) are inlined, and a Content Security
Policy admits only them and the MP3 next to the page."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import BadInput
from ..models import Chapter, Evidence, NotesResult, Placed, Script
from ..stages.citations import format_pages
from ..store import atomic_write_text
from ..text.lang import language_code
from .study import sections, unanswered_questions

PAGE_NAME = "index.html"
QUOTE_MAX_CHARS = 600  # of a quote shown on the page; notes.json keeps the whole span


def write_page(out_dir: str | Path, current: Iterable[str] | None = None, language: str | None = None) -> Path | None:
    """Write `out_dir`/index.html from the outputs in `out_dir` (only those named in `current`, paths or names, when
    given); None, and nothing written, when there is nothing to show (an extract-only run)."""
    html = render_page(out_dir, current, language)
    return atomic_write_text(Path(out_dir) / PAGE_NAME, html) if html is not None else None


def render_page(out_dir: str | Path, current: Iterable[str] | None = None, language: str | None = None) -> str | None:
    import jinja2  # loaded when a page is written, not on every CLI start

    data = page_data(Path(out_dir), current)
    if data is None:
        return None
    resources = files("notebooklm_clone").joinpath("resources", "page")
    css, js = (resources.joinpath(name).read_text(encoding="utf-8") for name in ("page.css", "page.js"))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.joinpath("page.html.j2").read_text(encoding="utf-8"))
    lang = language_code(language or (data["script"].language if data["script"] else None))
    sources = data["notes"].page_sources if data["notes"] else {}

    def where(page: int) -> str:
        """"p. 3", or "memo.pdf, p. 3" on a notebook's page."""
        return format_pages([page], sources)[1:-1]

    return template.render(**data, lang=lang, css=css, js=js, css_hash=_csp_hash(css), js_hash=_csp_hash(js),
                           clock=clock, cite=Citations(sources), where=where)


def page_data(out_dir: Path, current: Iterable[str] | None = None) -> dict | None:
    """What the template shows, read from the folder; a product is present when its file is current and exists."""
    names = {Path(p).name for p in current} if current is not None else None

    def have(name: str) -> bool:
        return (names is None or name in names) and (out_dir / name).is_file()

    notes = _load(out_dir / "notes.json", NotesResult) if have("notes.json") else None
    script = _load(out_dir / "script.json", Script) if have("script.json") else None
    podcast = _podcast(out_dir / "podcast.json") if have("podcast.mp3") and have("podcast.json") else None
    if notes is None and script is None and podcast is None:
        return None
    title = (notes.title if notes else None) or (script.title if script else None) or \
        (podcast["title"] if podcast else None) or out_dir.name
    return {
        "title": title,
        "document": notes.document if notes else hashlib.sha256(title.encode()).hexdigest(),
        "notes": notes,
        "summary": notes.summary if notes and have("summary.md") else None,
        "sections": sections(notes) if notes and have("notes.md") else [],
        "glossary": notes.glossary if notes and have("notes.md") else [],
        "qa": notes.qa if notes and have("notes.md") else [],
        "questions": unanswered_questions(notes) if notes and have("notes.md") else [],
        "cards": notes.cards if notes and have("cards.csv") else [],
        "apkg": "cards.apkg" if have("cards.apkg") else None,
        "quiz": notes.quiz if notes and have("quiz.md") else [],
        "outline": outline(notes) if notes else None,
        "podcast": podcast,
        "script": script if podcast is None else None,  # a script without audio is shown as text
    }


class Node(BaseModel):
    title: str
    points: list[str] = []
    children: list[Node] = []


def outline(notes: NotesResult) -> Node:
    """The document's sections as a tree (from the heading paths of its chunks), each with its key points."""
    root = Node(title=notes.title)
    for section, points in sections(notes):
        node = root
        for title in section:
            node = next((c for c in node.children if c.title == title), None) or _add(node, Node(title=title))
        node.points.extend(p.text for p in points)
    return root


def _add(parent: Node, child: Node) -> Node:
    parent.children.append(child)
    return child


class Citations:
    """Citation buttons for the template: each gets an id for the quote it reveals, unique on the page."""

    def __init__(self, sources: dict[int, tuple[str, int]] | None = None):
        self.count = 0
        self.sources = sources or {}  # a notebook's page -> (source, page in it)

    def __call__(self, pages: list[int], evidence: list[Evidence]) -> dict | None:
        label = format_pages(pages, self.sources)[1:-1]
        if not label and not evidence:
            return None
        self.count += 1
        quotes = [{"page": format_pages([e.page], self.sources)[1:-1], "quote": _shorten(e.quote)} for e in evidence]
        return {"id": f"ev{self.count}", "label": label or quotes[0]["page"], "quotes": quotes}


def clock(seconds: float) -> str:
    """0:07, 12:30, 1:02:03."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _podcast(path: Path) -> dict:
    """podcast.json as the template needs it: chapters, each with its turns, and each speaker numbered for colour."""
    data = _read_json(path)
    try:
        chapters = [Chapter.model_validate(c) for c in data.get("chapters", [])]
        turns = [Placed.model_validate(t) for t in data.get("turns", [])]
    except (AttributeError, ValidationError) as exc:
        raise BadInput(f"{path} is not the timings of a podcast: {exc}") from None
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    groups = [{"chapter": c, "turns": []} for c in chapters] or [{"chapter": None, "turns": []}]
    for turn in turns:
        inside = [g for g in groups if g["chapter"] is None or g["chapter"].start_s <= turn.start_s + 1e-3]
        (inside or groups)[-1]["turns"].append({"turn": turn, "voice": speakers.index(turn.speaker) % 4})
    return {"title": data.get("title") or "", "duration_s": float(data.get("duration_s") or 0.0),
            "chapters": chapters, "groups": groups}


def _load(path: Path, model: type[BaseModel]):
    try:
        return model.model_validate(_read_json(path))
    except ValidationError as exc:
        raise BadInput(f"{path} is not valid {model.__name__}: {exc.errors()[0]['msg']}") from None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{path} cannot be read: {exc}") from None


def _shorten(quote: str) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= QUOTE_MAX_CHARS else quote[:QUOTE_MAX_CHARS].rsplit(" ", 1)[0] + " …"


def _csp_hash(text: str) -> str:
    """The CSP source that admits exactly this inline script or style, and nothing injected beside it."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
