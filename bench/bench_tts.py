#!/usr/bin/env python3
"""TTS speed: real-time factor (seconds of compute per second of audio; lower is faster) of each engine here
(embedded Piper, embedded Kokoro, espeak-ng), and the speed-up of synthesising a script's turns in parallel worker
processes over one process.

Engines are loaded before timing (loading happens once per process in real runs). Each RTF is the best of --repeat
runs. The parallel comparison renders the same 8 turns (hosts joe and jf_alpha, as in a podcast) twice into empty
clip caches, once with workers=1 (one process, onnxruntime using every core) and once with workers=N (default:
cores; one thread each), wall time including the workers' start-up (a fresh Python process that imports
numpy/scipy/onnxruntime and loads the voices: seconds, paid once per render). Timings are noisy:
only the ratios within one run mean anything.

Usage: python bench/bench_tts.py [--repeat N] [--workers N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notebooklm_clone.config import Settings, TTSSettings  # noqa: E402
from notebooklm_clone.models import Script, Speaker, Turn  # noqa: E402
from notebooklm_clone.stages.speech import synthesize_script  # noqa: E402
from notebooklm_clone.tts.engine import cpu_count, get_engine  # noqa: E402

TEXT = ("Street trees cool the cities they grow in. A survey of twelve hundred streets found more shade every year "
        "where trees were planted, and summer temperatures a few degrees lower at street level.")
TURNS = [
    "Welcome back to the show, where we read one paper in depth and ask what it really tells us.",
    "Today it is a survey of city streets and the trees planted along them over ten years.",
    "The headline is simple: where trees were planted, the street got shadier every single year.",
    "And the shade mattered, because the measured temperature at street level dropped by a few degrees.",
    "What surprised me is how small the trees were when the effect first showed up in the data.",
    "The authors are careful, though: they compare streets in the same districts, not across the city.",
    "So the comparison is fair, and the result holds when you leave out the largest avenues too.",
    "That is where we stop for today. Thanks for listening, and see you next week.",
]


def rtf(engine, voice: str, repeat: int) -> tuple[float, float]:
    """Best compute/audio ratio over `repeat` runs, and the audio length."""
    engine.synthesize("Warming up.", voice)
    best, seconds = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        audio, rate = engine.synthesize(TEXT, voice)
        elapsed = time.perf_counter() - start
        seconds = len(audio) / rate
        best = min(best, elapsed / seconds)
    return best, seconds


def render_time(workers: int, cache: Path) -> float:
    script = Script(title="bench", speakers=[Speaker(id="a", name="A"), Speaker(id="b", name="B")],
                    turns=[Turn(speaker="ab"[i % 2], text=t) for i, t in enumerate(TURNS)])
    settings = Settings(cache_dir=str(cache), tts=TTSSettings(workers=workers))
    start = time.perf_counter()
    clips = synthesize_script(script, settings, get_engine(settings.tts, cache_dir=settings.cache_dir))
    assert sum(not c.cached for c in clips) == len(TURNS)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=cpu_count())
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-tts-") as tmp:
        tmp = Path(tmp)
        embedded = get_engine(TTSSettings(), cache_dir=tmp)
        espeak = get_engine(TTSSettings(engine="espeak"))
        print(f"real-time factor (compute s / audio s, best of {args.repeat}; lower is faster)")
        results = {}
        for label, engine, voice in (("embedded piper (joe)", embedded, "joe"),
                                     ("embedded kokoro (jf_alpha)", embedded, "jf_alpha"),
                                     ("espeak-ng", espeak, "en-us+m3@35")):
            results[label], seconds = rtf(engine, voice, args.repeat)
            print(f"  {label:28s} RTF {results[label]:.3f}  ({seconds:.1f} s of audio)")
        base = results["embedded piper (joe)"]
        print("  relative to piper: " + ", ".join(f"{k} {v / base:.1f}x" for k, v in results.items()))

        serial = render_time(1, tmp / "serial")
        parallel = render_time(args.workers, tmp / "parallel")
        print(f"parallel synthesis of {len(TURNS)} turns: 1 worker {serial:.1f} s, {args.workers} workers "
              f"{parallel:.1f} s -> speed-up {serial / parallel:.2f}x (cores here: {cpu_count()})")


if __name__ == "__main__":
    main()
