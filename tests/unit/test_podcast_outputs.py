"""outputs/podcast.py on a mixed programme made here (no speech engine): the files, the tags and chapters as
mutagen reads them, the subtitle text, and that a failed write leaves the previous file whole."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mutagen.id3 import ID3

from notebooklm_clone.models import Chapter, Mixed, Placed
from notebooklm_clone.outputs.podcast import write_podcast
from notebooklm_clone.stages.mix import encode_mp3


def frames(mp3: bytes) -> bytes:
    """The MP3 after its ID3v2 tag (the encoder writes one of its own; ours replaces it)."""
    if not mp3.startswith(b"ID3"):
        return mp3
    return mp3[10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(mp3[6:10])):]


def _mixed() -> Mixed:
    rate = 24000
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(3 * rate) / rate)).astype(np.float32)
    placed = [Placed(turn=0, speaker="a", name="Ann", segment=0, text="Hello there. Welcome.", start_s=0.0, end_s=1.4),
              Placed(turn=1, speaker="b", name="Bo", segment=1, text="Thanks.", start_s=1.8, end_s=3.0)]
    chapters = [Chapter(title="Intro", start_s=0.0, end_s=1.8), Chapter(title="Main", start_s=1.8, end_s=3.0)]
    return Mixed(title="Episode", mp3=encode_mp3(tone, rate, "64k"), placed=placed, chapters=chapters,
                 duration_s=3.0, lufs=-16.0, peak_dbtp=-1.5)


def test_write_podcast_writes_tagged_mp3_subtitles_and_transcript(tmp_path):
    mixed = _mixed()
    files = write_podcast(mixed, tmp_path, "Shown title", "Artist", "Album")
    assert files == {"podcast": str(tmp_path / "podcast.mp3"), "podcast_srt": str(tmp_path / "podcast.srt"),
                     "podcast_vtt": str(tmp_path / "podcast.vtt"), "podcast_timings": str(tmp_path / "podcast.json"),
                     "transcript": str(tmp_path / "transcript.md")}
    tags = ID3(tmp_path / "podcast.mp3")
    assert (str(tags["TIT2"]), str(tags["TPE1"]), str(tags["TALB"])) == ("Shown title", "Artist", "Album")
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [(str(c.sub_frames["TIT2"]), c.start_time, c.end_time) for c in chapters] == [("Intro", 0, 1800),
                                                                                          ("Main", 1800, 3000)]
    assert tags.getall("CTOC")[0].child_element_ids == [c.element_id for c in chapters]
    assert frames((tmp_path / "podcast.mp3").read_bytes()) == frames(mixed.mp3)
    assert (tmp_path / "podcast.srt").read_text().startswith("1\n00:00:00,000 --> 00:00:00,")
    assert "<v Bo>Thanks.\n" in (tmp_path / "podcast.vtt").read_text()
    assert (tmp_path / "transcript.md").read_text().startswith(
        "# Episode\n\n## Intro [00:00:00]\n\n**Ann** [00:00:00]: Hello there. Welcome.")
    timings = json.loads((tmp_path / "podcast.json").read_text())
    assert [(c["title"], c["start_s"]) for c in timings["chapters"]] == [("Intro", 0.0), ("Main", 1.8)]
    assert [(t["name"], t["start_s"], t["end_s"], t["text"]) for t in timings["turns"]] == [
        ("Ann", 0.0, 1.4, "Hello there. Welcome."), ("Bo", 1.8, 3.0, "Thanks.")]
    assert not list(tmp_path.glob(".*.part"))


def test_a_failed_write_leaves_the_previous_mp3_whole(tmp_path, monkeypatch):
    import notebooklm_clone.store as store

    write_podcast(_mixed(), tmp_path, "t", "a", "b", stem="show")
    before = (tmp_path / "show.mp3").read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_podcast(_mixed(), tmp_path, "other title", "a", "b", stem="show")
    assert (tmp_path / "show.mp3").read_bytes() == before
    assert not list(tmp_path.glob(".*.part"))


def test_script_md_reads_a_turn_split_for_speech_as_one_turn():
    from notebooklm_clone.models import Script, Segment, Speaker, Turn
    from notebooklm_clone.outputs.script import script_markdown

    speakers = [Speaker(id="host", name="Alex", role="host"), Speaker(id="expert", name="Sam", role="expert")]
    script = Script(title="Axioms", speakers=speakers, segments=[Segment(title="Proofs", words=40)], turns=[
        Turn(speaker="host", text="How is a program proved correct?", segment=0),
        Turn(speaker="expert", text="By assertions about its variables.", segment=0),
        Turn(speaker="expert", text="The hardware may be proved too.", segment=0)])
    text = script_markdown(script)
    assert "**Sam:** By assertions about its variables. The hardware may be proved too.\n" in text
    assert text.count("**Sam:**") == 1 and text.count("**Alex:**") == 1
