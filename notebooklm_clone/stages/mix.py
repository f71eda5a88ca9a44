"""Clips -> one mixed programme: pauses, optional intro/outro music, loudness, chapters, the encoded MP3.

Everything is resampled to settings.audio.sample_rate and each clip is levelled first, so the hosts are equally loud
whatever engine spoke them. The programme is then brought to the target integrated loudness (ITU-R BS.1770 via
pyloudnorm, -16 LUFS by default) and a look-ahead limiter keeps the true peak (4x oversampled) under the ceiling.
The MP3 is decoded again (in memory) and measured, so the numbers reported are those of the file the listener gets.
Nothing is written here: outputs/podcast.py tags the MP3 and writes it with the subtitles and the transcript.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from ..config import AudioSettings
from ..errors import BackendUnavailable, BadInput
from ..models import Chapter, Mixed, Placed, Script
from ..text.speakable import strip_markup
from .speech import Clip

QUICK_TURN_WORDS = 6  # a turn this short ("Right.", "Exactly!") is followed by the quick pause
OVERSAMPLE = 4  # true-peak estimate, as BS.1770-4 annex 2
FFMPEG_MIN_TIMEOUT_S = 60.0  # every ffmpeg run gets at least this...
FFMPEG_TIMEOUT_PER_AUDIO_S = 0.25  # ...plus this per second of audio (it runs at 50-100x real time)
MUSIC_TIMEOUT_S = 120.0  # decoding an intro/outro file of any length we would play


# ---------------------------------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------------------------------
def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return audio.astype(np.float32, copy=False)
    ratio = Fraction(target, rate)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def load_clip(path: str | Path, rate: int) -> np.ndarray:
    audio, clip_rate = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), clip_rate, rate)


def loudness(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS; clips shorter than one 400 ms gating block are measured looped."""
    block = int(0.4 * rate) + 1
    if len(audio) < block:
        audio = np.tile(audio, block // max(1, len(audio)) + 1) if len(audio) else np.zeros(block, np.float32)
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def true_peak_dbtp(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(resample_poly(audio, OVERSAMPLE, 1)))) if len(audio) else 0.0
    return 20 * np.log10(max(peak, 1e-9))


def level(audio: np.ndarray, rate: int, target_lufs: float) -> np.ndarray:
    measured = loudness(audio, rate)
    if not np.isfinite(measured):  # silence
        return audio
    return (audio * 10 ** ((target_lufs - measured) / 20)).astype(np.float32)


def limit(audio: np.ndarray, rate: int, ceiling_dbtp: float, window_ms: float = 20.0) -> np.ndarray:
    """Look-ahead peak limiter on the 4x oversampled signal: the gain at each sample is at most what the loudest
    (true) peak within half a window needs, smoothed by a moving average no wider than that window, so it never
    overshoots and never clicks."""
    ceiling = 10 ** (ceiling_dbtp / 20)
    over = np.abs(resample_poly(audio, OVERSAMPLE, 1))[: len(audio) * OVERSAMPLE]
    peaks = over.reshape(-1, OVERSAMPLE).max(axis=1)
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    width = max(3, int(rate * window_ms / 1000) | 1)
    gain = uniform_filter1d(minimum_filter1d(needed, size=width, mode="nearest"), size=width, mode="nearest")
    return (audio * np.minimum(gain, needed)).astype(np.float32)


def normalize_loudness(audio: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float) -> np.ndarray:
    """Gain to the target loudness, limit the true peak, and repeat the pair until both hold (limiting lowers the
    loudness a little, the next gain wins it back)."""
    for _ in range(6):
        audio = level(audio, rate, target_lufs)
        audio = limit(audio, rate, ceiling_dbtp)
        if abs(loudness(audio, rate) - target_lufs) < 0.1 and true_peak_dbtp(audio) <= ceiling_dbtp + 0.01:
            break
    return audio


# ---------------------------------------------------------------------------------------------------------------------
# The programme
# ---------------------------------------------------------------------------------------------------------------------
def load_music(path: str, rate: int, lufs: float, fade_ms: int) -> np.ndarray:
    """Intro/outro music in any format ffmpeg reads, mono at our rate, levelled under the speech and faded.

    ffmpeg decodes under a time limit (pydub's own decoder has none); pydub fades the decoded segment."""
    from pydub import AudioSegment

    if not shutil.which("ffmpeg"):
        raise BadInput(f"cannot read music file {path}: ffmpeg is not installed (apt-get install ffmpeg)")
    try:
        raw = run_ffmpeg(["-i", str(path), "-vn", "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
                         MUSIC_TIMEOUT_S, "music decoding")
    except BackendUnavailable as exc:  # a music file we cannot decode (or that never ends) is bad input, one line
        reason = str(exc).removeprefix("ffmpeg (music decoding) ")
        raise BadInput(f"cannot read music file {path}: ffmpeg {reason}") from None
    if not raw:
        raise BadInput(f"cannot read music file {path}: no audio in it")
    music = AudioSegment(data=raw, sample_width=2, frame_rate=rate, channels=1).fade_in(fade_ms).fade_out(fade_ms)
    samples = np.array(music.get_array_of_samples(), dtype=np.float32) / 32768.0
    return level(samples, rate, lufs)


def pause_before(index: int, script: Script, audio: AudioSettings) -> int:
    """Milliseconds of silence before turn `index`: short after a quick interjection, longer between chapters."""
    if index == 0:
        return 0
    previous, turn = script.turns[index - 1], script.turns[index]
    if turn.segment != previous.segment:
        return 2 * audio.pause_ms
    if len(previous.text.split()) <= QUICK_TURN_WORDS:
        return audio.quick_pause_ms
    return audio.pause_ms


def segment_title(script: Script, segment: int) -> str:
    if 0 <= segment < len(script.segments) and script.segments[segment].title.strip():
        return script.segments[segment].title.strip()
    return f"Part {segment + 1}"


def assemble(script: Script, clips: list[Clip], audio: AudioSettings) -> tuple[np.ndarray, list[Placed], list[Chapter]]:
    """Lay the clips out with pauses (and music around them); timings come from the samples actually placed."""
    rate = audio.sample_rate
    names = {s.id: s.name for s in script.speakers}
    parts: list[np.ndarray] = []
    cursor = 0  # samples
    intro = load_music(audio.intro_music, rate, audio.music_lufs, audio.music_fade_ms) if audio.intro_music else None
    overlap = int(audio.music_fade_ms / 1000 * rate)
    if intro is not None:
        parts.append(intro)
        cursor = max(0, len(intro) - overlap)  # speech starts while the intro fades out
    placed: list[Placed] = []
    speech: list[tuple[int, np.ndarray]] = []
    previous_turn = None
    for clip in clips:
        samples = level(load_clip(clip.path, rate), rate, audio.clip_lufs)
        if previous_turn is not None:
            cursor += int(pause_before(clip.turn, script, audio) * rate / 1000)
        turn = script.turns[clip.turn]
        speech.append((cursor, samples))
        placed.append(Placed(turn=clip.turn, speaker=clip.speaker, name=names.get(clip.speaker, clip.speaker),
                             segment=turn.segment, text=strip_markup(turn.text), start_s=cursor / rate,
                             end_s=(cursor + len(samples)) / rate))
        cursor += len(samples)
        previous_turn = clip.turn
    outro = load_music(audio.outro_music, rate, audio.music_lufs, audio.music_fade_ms) if audio.outro_music else None
    outro_at = max(0, cursor - overlap) if outro is not None else cursor
    total = max(cursor, outro_at + (len(outro) if outro is not None else 0), len(intro) if intro is not None else 0)
    programme = np.zeros(total, np.float32)
    if intro is not None:
        programme[: len(intro)] += intro
    for start, samples in speech:
        programme[start: start + len(samples)] += samples
    if outro is not None:
        programme[outro_at: outro_at + len(outro)] += outro
    chapters: list[Chapter] = []
    for i, p in enumerate(placed):
        if i == 0 or p.segment != placed[i - 1].segment:
            start = 0.0 if not chapters else p.start_s  # the first chapter holds the intro too
            if chapters:
                chapters[-1].end_s = start
            chapters.append(Chapter(title=segment_title(script, p.segment), start_s=start, end_s=total / rate))
    return programme, placed, chapters


# ---------------------------------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------------------------------
def _pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).round().astype("<i2").tobytes()


def ffmpeg_timeout(seconds_of_audio: float) -> float:
    """Time allowed for ffmpeg to encode or decode this much audio: a run this long is stuck (an unreadable mount,
    a broken build), not slow."""
    return FFMPEG_MIN_TIMEOUT_S + FFMPEG_TIMEOUT_PER_AUDIO_S * seconds_of_audio


def run_ffmpeg(args: list[str], timeout: float, what: str, input: bytes | None = None) -> bytes:
    """ffmpeg's stdout; an error or a run over `timeout` seconds is one line (BackendUnavailable)."""
    command = ["ffmpeg", "-nostdin", "-v", "error", *args]
    try:
        done = subprocess.run(command, input=input, stdin=None if input is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BackendUnavailable(f"ffmpeg ({what}) did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise BackendUnavailable(f"ffmpeg ({what}) could not run: {exc}") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.decode(errors="replace").split())[-300:] or f"exit code {done.returncode}"
        raise BackendUnavailable(f"ffmpeg ({what}) failed: {reason}")
    return done.stdout


def encode_mp3(audio: np.ndarray, rate: int, bitrate: str) -> bytes:
    """MP3 bytes: ffmpeg (libmp3lame) when ffmpeg is there, else lameenc (a wheel, no system library)."""
    kbps = int(str(bitrate).lower().rstrip("k"))
    if shutil.which("ffmpeg"):
        return run_ffmpeg(["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "-", "-f", "mp3", "-b:a", f"{kbps}k",
                           "-write_xing", "1", "-"], ffmpeg_timeout(len(audio) / rate), "MP3 encoding",
                          input=_pcm16(audio))
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(_pcm16(audio)) + encoder.flush())


def decode_mp3(mp3: bytes, rate: int, seconds: float) -> np.ndarray | None:
    """The samples a player would get from these MP3 bytes, at `rate` (None when no decoder is installed);
    `seconds` is how long the audio is, for the time limit. The bytes go to ffmpeg on stdin: no file to clean up."""
    if not shutil.which("ffmpeg"):
        return None
    raw = run_ffmpeg(["-f", "mp3", "-i", "-", "-f", "f32le", "-ac", "1", "-ar", str(rate), "-"],
                     ffmpeg_timeout(seconds), "MP3 decoding", input=mp3)
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def mix_podcast(script: Script, clips: list[Clip], audio: AudioSettings) -> Mixed:
    """Lay out, level and encode the programme; the loudness reported is measured on the decoded MP3."""
    if not clips:
        raise BadInput("the script has no turn with anything to say")
    rate = audio.sample_rate
    programme, placed, chapters = assemble(script, clips, audio)
    # the encoder low-passes (a few tenths of a LU) and can overshoot peaks: measure the decoded MP3 and correct
    target, ceiling = audio.target_lufs, audio.peak_dbtp - 0.5
    for _ in range(4):
        final = normalize_loudness(programme, rate, target, ceiling)
        mp3 = encode_mp3(final, rate, audio.bitrate)
        decoded = decode_mp3(mp3, rate, len(final) / rate)
        measured = decoded if decoded is not None else final
        lufs, peak = loudness(measured, rate), true_peak_dbtp(measured)
        loud_ok, peak_ok = abs(lufs - audio.target_lufs) <= 0.2, peak <= audio.peak_dbtp
        if loud_ok and peak_ok:
            break
        target += audio.target_lufs - lufs
        if not peak_ok:
            ceiling -= peak - audio.peak_dbtp + 0.2
    return Mixed(title=script.title, mp3=mp3, placed=placed, chapters=chapters, duration_s=len(programme) / rate,
                 lufs=round(lufs, 2), peak_dbtp=round(peak, 2))
