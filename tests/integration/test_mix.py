"""A real two-host podcast (Piper + Kokoro) through speech and mix, checked with independent tools: ffprobe for the
duration, ffmpeg + pyloudnorm for loudness and true peak, mutagen for the chapters, and the subtitle files' own text."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from mutagen.id3 import ID3
from scipy.signal import resample_poly

from notebooklm_clone.config import Settings
from notebooklm_clone.models import Script, Segment, Speaker, Turn
from notebooklm_clone.outputs.podcast import write_podcast
from notebooklm_clone.stages.mix import pause_before
from notebooklm_clone.stages.podcast import PodcastResult, render_podcast
from notebooklm_clone.stages.speech import plan_clips
from notebooklm_clone.tts.engine import get_engine

pytestmark = pytest.mark.tts

SCRIPT = Script(
    title="Test Episode",
    speakers=[Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")],
    segments=[Segment(title="Opening", words=20), Segment(title="The numbers", words=20)],
    turns=[
        Turn(speaker="host", text="Welcome to the show. Today we read a short paper about city trees.", segment=0),
        Turn(speaker="expert", text="Thanks. It found 3.5% more shade (p. 4).", segment=0),
        Turn(speaker="host", text="Really?", segment=1),
        Turn(speaker="expert", text="Yes, over 1,200 streets [12].", segment=1),
    ],
)


def decode(path: Path, rate: int = 24000) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(rate), "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4")


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def cue_starts(text: str, separator: str) -> list[tuple[float, str]]:
    """(start seconds, cue text) of each cue of an SRT or VTT file."""
    pattern = rf"(\d\d):(\d\d):(\d\d){re.escape(separator)}(\d{{3}}) --> .*\n(.+)"
    return [(int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000, line)
            for h, m, s, ms, line in re.findall(pattern, text)]


def frames(mp3: bytes) -> bytes:
    """The MP3 after its ID3v2 tag (the encoder writes one of its own; ours replaces it)."""
    if not mp3.startswith(b"ID3"):
        return mp3
    return mp3[10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(mp3[6:10])):]


def render(script: Script, settings: Settings, out: Path) -> PodcastResult:
    """Speak and mix (the stage), then write the files (the output layer), as `speak` does."""
    result, mixed = render_podcast(script, settings)
    audio = settings.audio
    result.files = write_podcast(mixed, out, audio.title or script.title, audio.artist, audio.album)
    return result


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("podcast")
    settings = Settings(cache_dir=str(root / "cache"))
    result = render(SCRIPT, settings, root / "out")
    return settings, result, root / "out"


def test_files_and_clip_counts(rendered):
    _, result, out = rendered
    assert set(result.files) == {"podcast", "podcast_srt", "podcast_vtt", "podcast_timings", "transcript"}
    assert all(Path(p).parent == out and Path(p).stat().st_size > 0 for p in result.files.values())
    assert (result.clips_synthesized, result.clips_cached) == (4, 0)
    assert result.voices == {"host": "joe", "expert": "jf_alpha"}
    assert not list(out.glob("*.part"))


def test_mp3_duration_is_clips_plus_pauses(rendered):
    settings, result, out = rendered
    engine = get_engine(settings.tts, cache_dir=settings.cache_dir)
    clips = sum(sf.info(job.path).duration for job in plan_clips(SCRIPT, settings, engine))
    pauses = sum(pause_before(i, SCRIPT, settings.audio) for i in range(len(SCRIPT.turns))) / 1000
    assert pauses == pytest.approx(0.45 + 0.9 + 0.2)  # a normal pause, a chapter change, after the one-word "Really?"
    expected = clips + pauses
    assert ffprobe_duration(out / "podcast.mp3") == pytest.approx(expected, rel=0.02)
    assert result.duration_s == pytest.approx(expected, abs=0.01)


def test_loudness_and_true_peak_of_the_decoded_mp3(rendered):
    settings, result, out = rendered
    audio = decode(out / "podcast.mp3", 48000)
    lufs = pyloudnorm.Meter(48000).integrated_loudness(audio.astype(np.float64))
    peak = 20 * np.log10(np.max(np.abs(resample_poly(audio.astype(np.float64), 4, 1))))
    print(f"decoded MP3: {lufs:.2f} LUFS, true peak {peak:.2f} dBTP (reported {result.lufs}, {result.peak_dbtp})")
    assert lufs == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0 + 0.05  # 4x oversampling of a 48 kHz decode: an estimate of the true peak
    assert result.lufs == pytest.approx(lufs, abs=0.3) and result.peak_dbtp <= -1.0


def test_tags_chapters_and_subtitles_line_up(rendered):
    _, result, out = rendered
    tags = ID3(out / "podcast.mp3")
    assert (str(tags["TIT2"]), str(tags["TPE1"]), str(tags["TALB"])) == ("Test Episode", "notebooklm-clone",
                                                                       "notebooklm-clone podcasts")
    toc = tags.getall("CTOC")[0]
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert toc.child_element_ids == [c.element_id for c in chapters]
    assert [str(c.sub_frames["TIT2"]) for c in chapters] == ["Opening", "The numbers"]
    assert chapters[0].start_time == 0 and chapters[0].end_time == chapters[1].start_time
    assert chapters[1].end_time == pytest.approx(result.duration_s * 1000, abs=1)

    srt = cue_starts((out / "podcast.srt").read_text(), ",")
    vtt = cue_starts((out / "podcast.vtt").read_text(), ".")
    assert (out / "podcast.vtt").read_text().startswith("WEBVTT\n\n")
    assert [t for _, t in srt] == ["Alex: Welcome to the show.", "Alex: Today we read a short paper about city trees.",
                                   "Sam: Thanks.", "Sam: It found 3.5% more shade.", "Alex: Really?",
                                   "Sam: Yes, over 1,200 streets."]
    assert [t for _, t in vtt][4] == "<v Alex>Really?"
    # the second chapter starts exactly where the first cue of its segment starts
    assert srt[4][0] * 1000 == pytest.approx(chapters[1].start_time, abs=1)
    assert vtt[4][0] * 1000 == pytest.approx(chapters[1].start_time, abs=1)
    assert srt[0][0] == vtt[0][0] == 0.0
    transcript = (out / "transcript.md").read_text()
    assert transcript.startswith("# Test Episode\n\n## Opening [00:00:00]\n\n**Alex** [00:00:00]: Welcome to the show.")
    assert "## The numbers [00:00:" in transcript and "(p. 4)" not in transcript and "[12]" not in transcript


def test_the_stage_returns_the_programme_and_writes_nothing(rendered, tmp_path, monkeypatch):
    settings, result, out = rendered
    monkeypatch.chdir(tmp_path)
    again, mixed = render_podcast(SCRIPT, settings)
    assert again.files == {} and not list(tmp_path.iterdir())
    assert (mixed.lufs, mixed.peak_dbtp) == (result.lufs, result.peak_dbtp)
    assert mixed.duration_s == pytest.approx(result.duration_s, abs=0.001)
    assert [c.title for c in mixed.chapters] == ["Opening", "The numbers"] and len(mixed.placed) == 4
    written = (out / "podcast.mp3").read_bytes()
    assert written.startswith(b"ID3") and frames(written) == frames(mixed.mp3)  # the stage's audio, our tag


def test_rerun_with_one_edited_turn_synthesises_one_clip(rendered, tmp_path):
    settings, _, _ = rendered
    edited = SCRIPT.model_copy(deep=True)
    edited.turns[2].text = "Really? Tell me more."
    again = render(edited, settings, tmp_path / "again")
    assert (again.clips_synthesized, again.clips_cached) == (1, 3)
    unchanged = render(SCRIPT, settings, tmp_path / "same")
    assert (unchanged.clips_synthesized, unchanged.clips_cached) == (0, 4)


def test_intro_and_outro_music_fade_around_the_speech(rendered, tmp_path):
    settings, result, _ = rendered
    rate = 24000
    t = np.arange(int(3.0 * rate)) / rate
    sf.write(tmp_path / "jingle.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate)
    music = settings.with_overrides(**{"audio.intro_music": str(tmp_path / "jingle.wav"),
                                       "audio.outro_music": str(tmp_path / "jingle.wav")})
    with_music = render(SCRIPT, music, tmp_path / "music")
    fade = settings.audio.music_fade_ms / 1000
    # the intro plays, speech starts as it fades out; the outro starts as the speech ends
    assert with_music.duration_s == pytest.approx(result.duration_s + 2 * (3.0 - fade), abs=0.01)
    assert with_music.clips_synthesized == 0
    audio = decode(tmp_path / "music" / "podcast.mp3")
    assert np.max(np.abs(audio[: int(0.05 * rate)])) < 0.05  # faded in, not a click


# ---------------------------------------------------------------------------------------------------------------------
# Every ffmpeg run has a time limit, and running over it is one clear error
# ---------------------------------------------------------------------------------------------------------------------
def test_a_music_file_that_never_delivers_data_is_one_line_bad_input(tmp_path, monkeypatch):
    """A named pipe nobody writes to (as a stalled network mount would) blocks any reader forever: loading it as
    music stops at the time limit with BadInput, and the reader it started is gone."""
    import os
    import threading

    from notebooklm_clone.errors import BadInput
    from notebooklm_clone.stages import mix

    monkeypatch.setattr(mix, "MUSIC_TIMEOUT_S", 2.0)
    fifo = tmp_path / "jingle.mp3"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load():
        try:
            mix.load_music(str(fifo), 24000, -24.0, 500)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions below
            outcome.append(exc)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(timeout=30)
    if loader.is_alive():  # release the blocked reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        loader.join(timeout=10)
        pytest.fail("loading the music file hung")
    assert isinstance(outcome[0], BadInput)
    assert str(outcome[0]) == f"cannot read music file {fifo}: ffmpeg did not finish within 2 s"


def test_an_encoder_over_its_time_limit_is_backend_unavailable(monkeypatch):
    from notebooklm_clone.errors import BackendUnavailable
    from notebooklm_clone.stages import mix

    monkeypatch.setattr(mix, "FFMPEG_MIN_TIMEOUT_S", 0.001)
    monkeypatch.setattr(mix, "FFMPEG_TIMEOUT_PER_AUDIO_S", 0.0)
    audio = (0.1 * np.sin(np.arange(24000 * 60) / 10)).astype(np.float32)
    with pytest.raises(BackendUnavailable, match=r"^ffmpeg \(MP3 encoding\) did not finish within 0\.001 s$"):
        mix.encode_mp3(audio, 24000, "128k")
