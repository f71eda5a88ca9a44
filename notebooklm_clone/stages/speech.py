"""Script turns -> speech clips.

Text is first made speakable (markup and citations removed, numbers, abbreviations and symbols written out), then
split at sentence boundaries to the engine's `max_chars`. Each turn becomes one clip, cached as FLAC under
<cache_dir>/tts by hash(engine, engine identity, voice, spoken text), so an edited script re-synthesises only the
turns that changed and an interrupted run keeps every finished clip. Missing clips are synthesised in parallel
processes, each loading the engine once and dying with the command that started them; a document that shares the
machine with others (a batch with several jobs, a Ray task) synthesises inline on its share of the cores.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import soundfile as sf
from pydantic import BaseModel
from tqdm import tqdm

from ..config import Settings, TTSSettings
from ..errors import BackendUnavailable
from ..models import Script
from ..procs import cpu_share, die_with_parent
from ..store import atomic_write_bytes, hash_obj
from ..text.citations import strip_citation_marks
from ..text.lang import language_code
from ..text.split import split_for_speech
from ..tts import TTSEngine, cpu_count, get_engine, voice_for

CLIP_FORMAT_VERSION = 1  # bump when the way a clip is made changes, so old clips are not reused
PIECE_GAP_S = 0.25  # silence between the pieces of a turn that was split to fit max_chars

# --------------------------------------------------------------------------------------------------------------------
# Markup and citations: never read aloud
# --------------------------------------------------------------------------------------------------------------------
_MARKDOWN = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"<[^>\n]+>"), ""),  # html tags
    (re.compile(r"```.*?```", re.DOTALL), ""),  # code blocks
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.MULTILINE), ""),  # quotes
    (re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.MULTILINE), ""),  # list markers
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])"), r"\2"),  # italics
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*$", re.MULTILINE), ""),  # table rules
    (re.compile(r"\s*\|\s*"), ", "),  # table cells
    (re.compile(r"https?://\S+|www\.\S+"), ""),  # URLs are noise when spoken
]


def strip_markup(text: str) -> str:
    """Text as a listener (or a subtitle reader) should get it: no markdown, no citation markers, one line."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    text = strip_citation_marks(text)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    text = re.sub(r"(^|[\s(])[,;:]\s*", r"\1", text)  # a comma left alone where a table or citation was
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"([,;:])(?=[.!?])", "", text)
    return text.strip(" ,;")


# --------------------------------------------------------------------------------------------------------------------
# Numbers, abbreviations and symbols (English)
# --------------------------------------------------------------------------------------------------------------------
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def number_words(n: int) -> str:
    """1200 -> 'one thousand two hundred' (no 'and', as in American usage)."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)  # pragma: no cover


def year_words(n: int) -> str:
    """1999 -> 'nineteen ninety-nine', 2005 -> 'two thousand five', 2020 -> 'twenty twenty',
    1900 -> 'nineteen hundred'."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return number_words(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{number_words(high)} hundred"
    return f"{number_words(high)} {'oh ' + _ONES[low] if low < 10 else number_words(low)}"


def ordinal_words(n: int) -> str:
    words = number_words(n)
    head, sep, last = words.rpartition("-" if "-" in words.split(" ")[-1] else " ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}" if sep else last


def decimal_words(text: str) -> str:
    """'3.5' -> 'three point five', '1,200' -> 'one thousand two hundred', '0.05' -> 'zero point zero five'."""
    whole, _, fraction = text.replace(",", "").partition(".")
    words = number_words(int(whole or "0"))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return words


_ABBREVIATIONS = [
    (r"\be\.\s?g\.(?:,)?", "for example"),
    (r"\bi\.\s?e\.(?:,)?", "that is"),
    (r"\bet al\.", "and colleagues"),
    (r"\betc\.", "et cetera"),
    (r"\bcf\.", "compare"),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bFigs\.", "Figures"),
    (r"\bFig\.", "Figure"),
    (r"\bEqs?\.", "Equation"),
    (r"\bSecs?\.", "Section"),
    (r"\bCh\.", "Chapter"),
    (r"\bTab\.", "Table"),
    (r"\bapprox\.", "approximately"),
    (r"\bDr\.", "Doctor"),
    (r"\bProf\.", "Professor"),
    (r"\bMr\.", "Mister"),
    (r"\bMrs\.", "Missus"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bSt\.", "Saint"),
]
_ABBREVIATIONS = [(re.compile(pattern), words) for pattern, words in _ABBREVIATIONS]

_SYMBOLS = [
    (r"\s*±\s*", " plus or minus "),
    (r"\s*(?:→|->|⇒|=>)\s*", " leads to "),
    (r"\s*(?:←|<-)\s*", " comes from "),
    (r"\s*≈\s*", " approximately "),
    (r"(?<!\w)~\s*(?=\d)", "roughly "),
    (r"\s*~\s*", " "),
    (r"\s*≤\s*", " less than or equal to "),
    (r"\s*≥\s*", " greater than or equal to "),
    (r"\s*≠\s*", " not equal to "),
    (r"(?<=\d)\s*×\s*(?=\d)", " times "),
    (r"\s*&\s*", " and "),
    (r"\s*@\s*", " at "),
    (r"(?<=\d)\s*°C\b", " degrees Celsius"),
    (r"(?<=\d)\s*°F\b", " degrees Fahrenheit"),
    (r"(?<=\d)\s*°", " degrees"),
    (r"(?<=\d)\s*<\s*(?=\d)", " less than "),
    (r"(?<=\d)\s*>\s*(?=\d)", " greater than "),
    (r"(?<=\d)\s*=\s*(?=-?\d)", " equals "),
    (r"\s*=\s*", " equals "),
    (r"(?<=\d)\s*\+\s*(?=\d)", " plus "),
    (r"[*#_|\\^{}]", " "),
]
_SYMBOLS = [(re.compile(pattern), words) for pattern, words in _SYMBOLS]

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MAGNITUDE = r"(?:\s+(?:thousand|million|billion|trillion))?"
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds"}


def _spell_numbers(text: str) -> str:
    # currency before the number: "$1.5 million" -> "one point five million dollars"
    text = re.sub(rf"([$€£])\s?({_NUM})({_MAGNITUDE})",
                  lambda m: f"{decimal_words(m[2])}{m[3]} {_CURRENCY[m[1]]}", text)
    # ranges of numbers: "4-5", "1990–2000" -> "4 to 5"
    text = re.sub(rf"(?<![\w.])({_NUM})\s?[–—-]\s?({_NUM})(?!\w|\.\d)", r"\1 to \2", text)
    text = re.sub(r"(?<!\w)(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m[1])), text)
    text = re.sub(rf"({_NUM})\s?%", lambda m: f"{decimal_words(m[1])} percent", text)
    text = re.sub(r"(?<![\w.,])-(?=\d)", "minus ", text)
    text = re.sub(r"(?<![\d,.])(1[1-9]\d\d|20\d\d)(s?)(?!\d|[,.]\d)",
                  lambda m: _plural(year_words(int(m[1]))) if m[2] else year_words(int(m[1])), text)
    return re.sub(rf"(?<![\w.]){_NUM}(?![\w])", lambda m: decimal_words(m[0]), text)


def _plural(words: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties' (decades)."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def normalize_for_speech(text: str, language: str = "en") -> str:
    """Text as it should be spoken. Markup and citation markers are always removed; numbers, abbreviations and
    symbols are written out in English (other languages keep them, their engines read digits themselves)."""
    text = strip_markup(text)
    if language.lower().startswith("en"):
        for pattern, words in _ABBREVIATIONS + _SYMBOLS:  # symbols first: "~10%" needs to see the digits
            text = pattern.sub(words, text)
        text = _spell_numbers(text)
    else:
        text = re.sub(r"[*#_|\\^{}]", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])\1+", r"\1", text)
    return text.strip()


# --------------------------------------------------------------------------------------------------------------------
# Clips: cache and parallel synthesis
# --------------------------------------------------------------------------------------------------------------------
class Clip(BaseModel):
    turn: int  # index into script.turns
    speaker: str
    voice: str
    text: str  # what was spoken (normalised)
    path: str  # FLAC in the clip cache, at the engine's own rate
    duration_s: float
    cached: bool  # True when it came from the cache, False when synthesised in this run


class ClipJob(BaseModel):
    turn: int
    speaker: str
    voice: str
    text: str
    pieces: list[str]
    path: str


def clip_cache_dir(settings: Settings) -> Path:
    return Path(settings.cache_dir) / "tts"


def clip_key(engine: TTSEngine, voice: str, pieces: list[str]) -> str:
    """An engine whose voices are files (Coqui's speaker_wav) keys them by their contents, not their names."""
    voice_identity = getattr(engine, "voice_identity", None)
    return hash_obj("clip", CLIP_FORMAT_VERSION, engine.name, engine.identity(),
                    voice_identity(voice) if voice_identity else voice, pieces)


def plan_clips(script: Script, settings: Settings, engine: TTSEngine) -> list[ClipJob]:
    """One job per turn that has something to say; the path says where its clip is (or will be) cached."""
    speakers = {s.id: (i, s) for i, s in enumerate(script.speakers)}
    cache = clip_cache_dir(settings)
    jobs = []
    for index, turn in enumerate(script.turns):
        position, speaker = speakers[turn.speaker]
        voice = voice_for(engine, settings.tts, position, speaker.id, speaker.voice)
        text = normalize_for_speech(turn.text, language_code(script.language))
        pieces = split_for_speech(text, engine.capabilities.max_chars)
        if not pieces:
            continue
        key = clip_key(engine, voice, pieces)
        jobs.append(ClipJob(turn=index, speaker=turn.speaker, voice=voice, text=text, pieces=pieces,
                            path=str(cache / key[:2] / f"{key}.flac")))
    return jobs


def synthesize_clip(engine: TTSEngine, job: ClipJob) -> float:
    """Speak one turn and write its clip atomically; returns its duration in seconds."""
    parts, rate = [], None
    for piece in job.pieces:
        audio, piece_rate = engine.synthesize(piece, job.voice)
        if rate is not None and piece_rate != rate:  # pragma: no cover - engines keep one rate
            from scipy.signal import resample_poly

            audio = resample_poly(audio, rate, piece_rate).astype(np.float32)
        rate = rate or piece_rate
        parts += [audio, np.zeros(int(PIECE_GAP_S * rate), np.float32)]
    audio = np.concatenate(parts[:-1])
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="FLAC", subtype="PCM_24")
    atomic_write_bytes(job.path, buffer.getvalue())
    return len(audio) / rate


def clip_duration(path: str | Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


# one engine per worker process, loaded by the first job it runs
_worker: dict = {}


def _init_worker(tts_json: str, threads: int, cache_dir: str, parent_pid: int) -> None:
    """Runs first in each synthesis process: it dies with the command that started it (even on kill -9)."""
    die_with_parent(parent_pid)
    _worker.update(settings=TTSSettings.model_validate_json(tts_json), threads=threads, cache_dir=cache_dir)


def _run_job(job_json: str) -> float:
    engine = get_engine(_worker["settings"], threads=_worker["threads"], cache_dir=_worker["cache_dir"])
    return synthesize_clip(engine, ClipJob.model_validate_json(job_json))


def worker_count(settings: TTSSettings, jobs: int) -> int:
    """Synthesis processes for `jobs` clips: the configured number (default: cores), but one (inline) when this
    document shares the machine with others (a batch with several jobs, a Ray task): they already use every core."""
    if cpu_share() is not None:
        return 1
    return max(1, min(settings.workers or cpu_count(), jobs))


def synthesize_script(script: Script, settings: Settings, engine: TTSEngine | None = None) -> list[Clip]:
    """Clips for every spoken turn, in script order: cached ones reused, missing ones synthesised in parallel."""
    engine = engine or get_engine(settings.tts, cache_dir=settings.cache_dir)
    jobs = plan_clips(script, settings, engine)
    todo = list({job.path: job for job in jobs if not Path(job.path).is_file()}.values())  # a repeated line once
    todo.sort(key=lambda job: -len(job.text))  # longest first: the pool ends together
    durations: dict[str, float] = {}  # clip path -> seconds, for the clips made in this run
    bar = tqdm(total=len(todo), desc=f"speech ({engine.name})", unit="clip", file=sys.stderr, disable=None,
               leave=False)
    workers = worker_count(settings.tts, len(todo))
    if todo and hasattr(engine, "prepare"):
        engine.prepare({job.voice for job in todo})  # shared files in place before the workers race for them
    try:
        if workers == 1:
            for job in todo:
                durations[job.path] = synthesize_clip(engine, job)
                bar.update()
        elif todo:
            threads = max(1, cpu_count() // workers)
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_init_worker,
                                     initargs=(settings.tts.model_dump_json(), threads, settings.cache_dir,
                                               os.getpid())) as pool:
                futures = {pool.submit(_run_job, job.model_dump_json()): job for job in todo}
                try:
                    pending = set(futures)
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            durations[futures[future].path] = future.result()
                            bar.update()
                except BrokenProcessPool as exc:
                    raise BackendUnavailable(f"a TTS worker process died ({exc}); finished clips are kept, "
                                             "rerun to resume (or use --workers 1)") from None
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)  # finished clips stay in the cache
                    raise
    finally:
        bar.close()
    clips, fresh = [], set(durations)
    for job in jobs:
        clips.append(Clip(turn=job.turn, speaker=job.speaker, voice=job.voice, text=job.text, path=job.path,
                          duration_s=durations.get(job.path) or clip_duration(job.path), cached=job.path not in fresh))
        fresh.discard(job.path)  # a line said twice was synthesised once
    return clips
