"""The script's files: script.json (what `speak` reads, editable by hand) and script.md (for reading)."""

from __future__ import annotations

from pathlib import Path

from ..models import Script
from ..store import atomic_write_json, atomic_write_text


def script_markdown(script: Script) -> str:
    """The script for reading: one paragraph per turn, under its segment's title."""
    names = {s.id: s.name for s in script.speakers}
    lines = [f"# {script.title}", ""]
    lines += [f"- **{s.name}** ({s.id}): {s.role}" for s in script.speakers]
    lines += ["", f"*{script.word_count()} words*", ""]
    current, previous = None, None
    for turn in script.turns:
        if turn.segment != current:
            current, previous = turn.segment, None
            title = script.segments[current].title if current < len(script.segments) else f"Part {current + 1}"
            lines += [f"## {title}", ""]
        if turn.speaker == previous:  # a long turn split for speech reads as the one turn it is
            lines[-2] += f" {turn.text}"
        else:
            lines += [f"**{names.get(turn.speaker, turn.speaker)}:** {turn.text}", ""]
        previous = turn.speaker
    return "\n".join(lines).rstrip() + "\n"


def write_script(script: Script, out_dir: str | Path) -> dict[str, str]:
    """Write script.json and script.md; returns output name -> path."""
    out_dir = Path(out_dir)
    return {"script": str(atomic_write_json(out_dir / "script.json", script)),
            "script_md": str(atomic_write_text(out_dir / "script.md", script_markdown(script)))}
