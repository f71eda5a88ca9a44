"""The podcast's files: <stem>.mp3 (ID3 tags and chapters), <stem>.srt, <stem>.vtt, <stem>.json (the chapters and
turn timings, which the study page reads) and transcript.md.

Each is built in memory and written with store.atomic_write_* (temp file + rename): never a half-written file."""

from __future__ import annotations

import io
from pathlib import Path

from ..models import Chapter, Mixed, Placed
from ..store import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..text.sentences import split_sentences


def tag_mp3(mp3: bytes, title: str, artist: str, album: str, chapters: list[Chapter]) -> bytes:
    """ID3v2.4: title/artist/album, plus one CHAP frame per chapter and a CTOC listing them (podcast apps show it)."""
    from mutagen.id3 import CHAP, CTOC, ID3, TALB, TIT2, TPE1, CTOCFlags

    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TPE1(encoding=3, text=artist))
    tags.add(TALB(encoding=3, text=album))
    ids = [f"chp{i}" for i in range(len(chapters))]
    if chapters:
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids,
                      sub_frames=[TIT2(encoding=3, text=title)]))
    for element_id, chapter in zip(ids, chapters):
        tags.add(CHAP(element_id=element_id, start_time=round(chapter.start_s * 1000),
                      end_time=round(chapter.end_s * 1000), sub_frames=[TIT2(encoding=3, text=chapter.title)]))
    buffer = io.BytesIO(mp3)
    tags.save(buffer, v2_version=4)  # mutagen tags a file object as it would a file
    return buffer.getvalue()


def write_mp3(path: str | Path, mp3: bytes, title: str, artist: str, album: str, chapters: list[Chapter]) -> Path:
    """Tagged in memory, then written atomically: a player never sees an MP3 without its chapters."""
    return atomic_write_bytes(path, tag_mp3(mp3, title, artist, album, chapters))


def _clock(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def cues(placed: list[Placed]) -> list[tuple[float, float, Placed, str]]:
    """Subtitle cues: one per sentence, each sentence's share of its clip proportional to its length."""
    out = []
    for p in placed:
        parts = split_sentences(p.text) or [p.text]
        total = sum(len(s) for s in parts)
        start = p.start_s
        for sentence in parts:
            end = start + (p.end_s - p.start_s) * len(sentence) / total
            out.append((start, end, p, sentence))
            start = end
    return out


def srt(placed: list[Placed]) -> str:
    blocks = [f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{p.name}: {text}\n"
              for i, (start, end, p, text) in enumerate(cues(placed), 1)]
    return "\n".join(blocks)


def vtt(placed: list[Placed]) -> str:
    blocks = [f"{_clock(start, '.')} --> {_clock(end, '.')}\n<v {p.name}>{text}\n"
              for start, end, p, text in cues(placed)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def transcript(title: str, placed: list[Placed], chapters: list[Chapter]) -> str:
    """Markdown: one heading per chapter, one paragraph per turn, each with its start time."""
    lines = [f"# {title}", ""]
    for i, p in enumerate(placed):
        if i == 0 or p.segment != placed[i - 1].segment:
            chapter = chapters[sum(1 for c in chapters if c.start_s <= p.start_s) - 1]
            lines += [f"## {chapter.title} [{_clock(chapter.start_s, '.')[:8]}]", ""]
        lines += [f"**{p.name}** [{_clock(p.start_s, '.')[:8]}]: {p.text}", ""]
    return "\n".join(lines)


def timings(mixed: Mixed) -> dict:
    """The programme's chapters and turns with their times: what a player needs beside the MP3 (the study page is
    rendered again from it without decoding the audio)."""
    return {"title": mixed.title, "duration_s": round(mixed.duration_s, 3),
            "chapters": [c.model_dump() for c in mixed.chapters],
            "turns": [p.model_dump() for p in mixed.placed]}


def write_podcast(mixed: Mixed, out_dir: str | Path, title: str, artist: str, album: str,
                  stem: str = "podcast") -> dict[str, str]:
    """Write <stem>.mp3 (tagged `title`/`artist`/`album`, with chapters), <stem>.srt, <stem>.vtt, <stem>.json and
    transcript.md into `out_dir`; returns output name -> path."""
    out_dir = Path(out_dir)
    return {
        "podcast": str(write_mp3(out_dir / f"{stem}.mp3", mixed.mp3, title, artist, album, mixed.chapters)),
        "podcast_srt": str(atomic_write_text(out_dir / f"{stem}.srt", srt(mixed.placed))),
        "podcast_vtt": str(atomic_write_text(out_dir / f"{stem}.vtt", vtt(mixed.placed))),
        "podcast_timings": str(atomic_write_json(out_dir / f"{stem}.json", timings(mixed))),
        "transcript": str(atomic_write_text(out_dir / "transcript.md",
                                            transcript(mixed.title, mixed.placed, mixed.chapters))),
    }
