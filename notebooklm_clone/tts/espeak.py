"""espeak-ng: robotic, but always there (Debian package), fast, and speaks ~100 languages: the last resort.

Voices are espeak-ng voice+variant names with a pitch, written `VOICE[@PITCH]` (pitch 0-99), e.g. `en-us+m3@35`.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ..config import TTSSettings
from ..errors import BackendUnavailable
from .engine import EngineCapabilities, TTSEngine, as_mono_float32

TIMEOUT_S = 120.0  # one piece (at most max_chars) takes espeak-ng well under a second: longer means it is stuck
DEFAULT_VOICES = ["en-us+m3@35", "en-us+f3@65", "en-gb+m1@25", "en-us+f4@80"]
VARIANTS = ["m1", "m3", "m7", "f2", "f3", "f4"]


def binary() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


class EspeakEngine(TTSEngine):
    name = "espeak"
    accepts_any_voice = True  # any voice espeak-ng knows, plus a variant and a pitch
    capabilities = EngineCapabilities(languages=["*"], max_chars=3000, sample_rate=22050,
                                      voices=DEFAULT_VOICES + [f"en-us+{v}" for v in VARIANTS],
                                      default_voices=DEFAULT_VOICES)

    def __init__(self, settings: TTSSettings, threads: int | None = None, cache_dir: Path | None = None):
        self.binary = binary()
        if self.binary is None:
            raise BackendUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        self.words_per_minute = settings.espeak_wpm
        self.language = (settings.language or "en").lower()
        try:
            self.version = subprocess.run([self.binary, "--version"], capture_output=True, text=True,
                                          stdin=subprocess.DEVNULL, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackendUnavailable(f"espeak-ng does not run: {exc}") from None

    def identity(self) -> dict:
        return {"espeak": self.version, "wpm": self.words_per_minute, "language": self.language}

    @classmethod
    def check(cls, settings: TTSSettings) -> tuple[bool, str]:
        if binary() is None:
            return False, "espeak-ng not found on PATH (apt-get install espeak-ng)"
        return True, f"{binary()} (any espeak-ng voice as VOICE[+VARIANT][@PITCH])"

    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        name, _, pitch = voice.partition("@")
        if not self.language.startswith("en") and name.startswith("en"):  # the default voices, in the script's language
            name = self.language + name[len(name.partition("+")[0]):]
        command = [self.binary, "-v", name, "-s", str(self.words_per_minute), "--stdout"]
        if pitch:
            command += ["-p", pitch]
        # text goes in on stdin, so a turn starting with "-" is never read as an option
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BackendUnavailable(f"espeak-ng did not finish within {TIMEOUT_S:g} s for voice {voice!r}") from None
        except OSError as exc:
            raise BackendUnavailable(f"espeak-ng does not run: {exc}") from None
        if done.returncode != 0 or not done.stdout:
            reason = done.stderr.decode(errors="replace").strip()
            raise BackendUnavailable(f"espeak-ng failed for voice {voice!r}: {reason}")
        audio, rate = sf.read(io.BytesIO(done.stdout), dtype="float32")
        return as_mono_float32(audio, rate)
