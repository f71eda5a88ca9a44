"""OUT/index.html: every document of a batch with its state, a link to its study page (<doc>/index.html), links to its
outputs and a player for its podcast with its length."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from ..store import portable_name
from .manifest import Entry, Manifest, now_iso

# (label, file name) in the order the index shows them; only outputs recorded for the document's current state
# (its entry's `files`, and the report of that run) are linked, never leftovers of earlier runs. The podcast's
# chapters live in the MP3's own tags and podcast.json, which the study page (<doc>/index.html) shows.
INDEX_LINKS = (
    ("study page", "index.html"), ("summary", "summary.md"), ("notes", "notes.md"), ("quiz", "quiz.md"),
    ("cards (Anki)", "cards.apkg"), ("cards (CSV)", "cards.csv"), ("script", "script.md"),
    ("transcript", "transcript.md"),
    ("subtitles (SRT)", "podcast.srt"), ("subtitles (VTT)", "podcast.vtt"),
    ("text", "document.json"), ("report", "report.json"),
)


def current_outputs(entry: Entry | None) -> set[str]:
    """The files (relative to OUT) produced for this entry's current state and products; none unless it is done."""
    if entry is None or entry.state != "done" or not entry.out_dir:
        return set()
    return {*entry.files.values(), f"{entry.out_dir}/report.json"}


def render_index(manifest: Manifest, out: Path) -> str:
    """The page for `manifest`, whose outputs lie under `out`; a duplicate shows its original's outputs."""
    import jinja2  # loaded only when a batch runs, not on every CLI start

    template_text = files("notebooklm_clone").joinpath("resources", "templates", "index.html.j2").read_text(
        encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    rows = []
    for entry in manifest.documents.values():
        shown = manifest.documents.get(entry.duplicate_of) if entry.duplicate_of else entry
        outputs = current_outputs(shown)
        links, audio, page, duration = [], None, None, None
        if outputs:
            for label, name in INDEX_LINKS:
                relative = f"{shown.out_dir}/{name}"
                if relative in outputs and (out / relative).is_file():
                    links.append({"label": label, "href": _href(relative)})
            podcast = f"{shown.out_dir}/podcast.mp3"
            if podcast in outputs and (out / podcast).is_file():
                audio = _href(podcast)
                duration = _duration(out / shown.out_dir / "podcast.json")
            study_page = f"{shown.out_dir}/index.html"
            if study_page in outputs and (out / study_page).is_file():
                page = _href(study_page)
        title = (shown.title if shown else None) or Path(entry.path.rstrip("/")).stem
        rows.append({"path": portable_name(entry.path), "title": portable_name(title), "state": entry.state,
                     "error": portable_name(entry.error) if entry.error else None,
                     "note": portable_name(entry.note) if entry.note else None,
                     "duplicate_of": portable_name(entry.duplicate_of) if entry.duplicate_of else None,
                     "links": links, "audio": audio, "page": page, "duration": duration, "seconds": entry.seconds,
                     "finished_at": entry.finished_at})
    heading = portable_name(manifest.input_name or Path(manifest.input_dir).name)
    return env.from_string(template_text).render(manifest=manifest, heading=heading, rows=rows,
                                                 counts=manifest.counts(), generated_at=now_iso())


def _duration(timings: Path) -> str | None:
    """m:ss from the podcast's podcast.json, so the length shows before (or without) the browser reading the MP3."""
    try:
        seconds = int(json.loads(timings.read_text(encoding="utf-8"))["duration_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return f"{seconds // 60}:{seconds % 60:02d}"


def _href(relative: str) -> str:
    return quote(relative, safe="/", errors="surrogateescape")  # a name that is not UTF-8 links to its very bytes
