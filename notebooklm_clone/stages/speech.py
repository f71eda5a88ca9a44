"""Script turns -> speech clips.

Text is first made speakable (text/speakable.py: markup and citations removed, numbers, abbreviations and symbols
written out), then split at sentence boundaries to the engine's `max_chars`. Each turn becomes one clip, cached as FLAC under
<cache_dir>/tts by hash(engine, engine identity, voice, spoken text), so an edited script re-synthesises only the
turns that changed and an interrupted run keeps every finished clip. Missing clips are synthesised in parallel
processes, each loading the engine once and dying with the command that started them; a document that shares the
machine with others (a batch with several jobs, a Ray task) synthesises inline on its share of the cores.
"""

from __future__ import annotations

import io
import multiprocessing
import os
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
from ..text.lang import language_code
from ..text.speakable import normalize_for_speech
from ..text.split import split_for_speech
from ..tts.engine import TTSEngine, cpu_count, get_engine, voice_for

CLIP_FORMAT_VERSION = 1  # bump when the way a clip is made changes, so old clips are not reused
PIECE_GAP_S = 0.25  # silence between the pieces of a turn that was split to fit max_chars


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
    return hash_obj("clip", CLIP_FORMAT_VERSION, engine.name, engine.identity(), engine.voice_identity(voice), pieces)


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


def synthesize_script(script: Script, settings: Settings, engine: TTSEngine) -> list[Clip]:
    """Clips for every spoken turn, in script order: cached ones reused, missing ones synthesised in parallel.
    `engine` is the one `settings.tts` names (worker processes build their own from those settings)."""
    jobs = plan_clips(script, settings, engine)
    todo = list({job.path: job for job in jobs if not Path(job.path).is_file()}.values())  # a repeated line once
    todo.sort(key=lambda job: -len(job.text))  # longest first: the pool ends together
    durations: dict[str, float] = {}  # clip path -> seconds, for the clips made in this run
    bar = tqdm(total=len(todo), desc=f"speech ({engine.name})", unit="clip", file=sys.stderr, disable=None,
               leave=False)
    workers = worker_count(settings.tts, len(todo))
    if todo:
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
