"""Coqui TTS (the maintained `coqui-tts` fork): any Coqui model by name (already in its model cache, we never download
at run time) or a local checkpoint, with per-speaker `speaker` names or `speaker_wav` reference recordings.

On this kind of machine torchaudio/torchcodec only exist as CUDA builds that cannot load without CUDA libraries,
while coqui-tts refuses to import without them and uses them only for audio file I/O and resampling. So when the real
torchaudio cannot be imported we register a small stand-in built on soundfile + torch (`_install_torchaudio_shim`);
see docs/coqui.md for the install steps. Importing this module never needs torch: everything heavy is lazy.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np

from ..config import TTSSettings
from ..errors import BackendUnavailable
from ..store import sha256_file
from .engine import EngineCapabilities, TTSEngine, as_mono_float32, cpu_count

INSTALL_HINT = "pip install torch==2.13.0 && pip install -r scripts/requirements-coqui.txt; see docs/coqui.md"


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__version__ = "0+notebooklm-clone-shim"
    module.__dict__.update(attrs)
    return module


def _install_torchaudio_shim() -> None:
    """Register pure-Python `torchaudio` and `torchcodec` modules covering what coqui-tts calls: load, save,
    info, functional.resample and transforms.Resample (soundfile for I/O, a polyphase resampler on torch)."""
    import soundfile as sf
    import torch
    from scipy.signal import resample_poly

    def load(path, *args, **kwargs):
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        return torch.from_numpy(np.ascontiguousarray(data.T)), rate

    def save(path, tensor, sample_rate, *args, **kwargs):
        audio = tensor.detach().cpu().numpy()
        sf.write(str(path), audio.T if audio.ndim == 2 else audio, sample_rate)

    def info(path, *args, **kwargs):
        meta = sf.info(str(path))
        return types.SimpleNamespace(sample_rate=meta.samplerate, num_frames=meta.frames,
                                     num_channels=meta.channels, bits_per_sample=16, encoding="PCM_S")

    def resample(waveform, orig_freq, new_freq, *args, **kwargs):
        if orig_freq == new_freq:
            return waveform
        out = resample_poly(waveform.detach().cpu().numpy(), int(new_freq), int(orig_freq), axis=-1)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(waveform.device)

    class Resample(torch.nn.Module):
        def __init__(self, orig_freq=16000, new_freq=16000, *args, **kwargs):
            super().__init__()
            self.orig_freq, self.new_freq = orig_freq, new_freq

        def forward(self, waveform):
            return resample(waveform, self.orig_freq, self.new_freq)

    functional = _module("torchaudio.functional", resample=resample)
    transforms = _module("torchaudio.transforms", Resample=Resample)
    torchaudio = _module("torchaudio", load=load, save=save, info=info, functional=functional,
                         transforms=transforms)
    sys.modules.update({"torchaudio": torchaudio, "torchaudio.functional": functional,
                        "torchaudio.transforms": transforms, "torchcodec": _module("torchcodec")})


def _import_coqui():
    """Import coqui-tts's API, with the torchaudio stand-in when the real one cannot load here."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("TTS") is None:
        raise BackendUnavailable(f"coqui engine: coqui-tts is not installed ({INSTALL_HINT})")
    for name in ("torchaudio", "torchcodec"):
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - missing, or a CUDA build that cannot load on CPU: same remedy
            _install_torchaudio_shim()
            break
    try:
        from TTS.api import TTS
    except Exception as exc:  # noqa: BLE001
        raise BackendUnavailable(f"coqui engine: coqui-tts does not import here: {type(exc).__name__}: {exc}") from None
    return TTS


def _local_model(model: str, config: str | None) -> tuple[str, str] | None:
    """A local checkpoint: a directory (best_model.pth / model.pth / checkpoint*.pth + config.json) or a file."""
    path = Path(model).expanduser()
    if path.is_dir():
        candidates = [path / n for n in ("best_model.pth", "model.pth", "model_file.pth")] + sorted(path.glob("*.pth"))
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise BackendUnavailable(f"coqui engine: no *.pth checkpoint in {path}")
        return str(found), str(Path(config) if config else path / "config.json")
    if path.is_file():
        return str(path), str(Path(config) if config else path.parent / "config.json")
    return None


def model_files(model: str, config: str | None, tts=None) -> list[Path]:
    """The files a loaded model was made from: every file beside its checkpoint (config, speakers, language
    files), its config wherever it is, and the vocoder and speaker-encoder files a loaded model names."""
    paths: list[Path] = []
    try:
        local = _local_model(model, config)
    except BackendUnavailable:
        local = None
    if local:
        paths += [Path(p) for p in local]
    synthesizer = getattr(tts, "synthesizer", None)
    for name in ("tts_checkpoint", "tts_config_path", "tts_speakers_file", "vocoder_checkpoint", "vocoder_config",
                 "encoder_checkpoint", "encoder_config"):
        value = getattr(synthesizer, name, None)
        if value and str(value) not in ("", "."):
            paths.append(Path(value))
    files: set[Path] = set()
    for path in paths:
        if path.is_file():
            files.add(path.resolve())
        folder = path if path.is_dir() else path.parent if path.suffix in (".pth", ".pt", ".tar") else None
        if folder is not None and folder.is_dir():
            files.update(p.resolve() for p in folder.iterdir() if p.is_file())
    return sorted(files)


def file_stamps(paths: list[Path]) -> list[tuple[str, int, int]]:
    """(path, size, mtime) of each file: a checkpoint written again, even to the same size, gets a new stamp."""
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
    return stamps


# (path, inode, size, mtime, ctime) -> sha256: a recording is read once per run; ctime changes on every write, even
# one whose mtime was set back
_digests: dict[tuple, str] = {}


def voice_identity(voice: str) -> str | dict:
    """What a voice means to the audio: a speaker name as it is, a reference recording (speaker_wav) by its
    contents, so a re-recorded file at the same path never reuses the clips of the old one."""
    path = Path(voice).expanduser()
    if not path.is_file():
        return voice

    stat = path.stat()
    stamp = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if stamp not in _digests:
        if len(_digests) > 64:  # a handful of recordings per podcast: never let this grow
            _digests.clear()
        _digests[stamp] = sha256_file(path)
    return {"speaker_wav": voice, "sha256": _digests[stamp]}


class CoquiEngine(TTSEngine):
    name = "coqui"
    accepts_any_voice = True  # speaker names of the model, or a path to a reference WAV (speaker_wav)

    def __init__(self, settings: TTSSettings, threads: int | None = None, cache_dir: Path | None = None):
        if not settings.model:
            raise BackendUnavailable("coqui engine: set tts.model to a Coqui model name or a local checkpoint path")
        TTS = _import_coqui()
        import torch

        torch.set_num_threads(max(1, threads or cpu_count()))
        local = _local_model(settings.model, settings.coqui_config)
        try:
            if local:
                self.tts = TTS(model_path=local[0], config_path=local[1], progress_bar=False)
            else:
                self.tts = TTS(settings.model, progress_bar=False)
        except Exception as exc:  # noqa: BLE001 - a missing or broken model is one clear line
            raise BackendUnavailable(f"coqui engine: cannot load model {settings.model!r}: "
                                     f"{type(exc).__name__}: {exc}") from None
        self.model = settings.model
        self.language = settings.language
        self.files = file_stamps(model_files(settings.model, settings.coqui_config, self.tts))  # as loaded
        speakers = list(getattr(self.tts, "speakers", None) or [])
        rate = int(self.tts.synthesizer.output_sample_rate)
        self.capabilities = EngineCapabilities(languages=list(getattr(self.tts, "languages", None) or ["*"]),
                                               max_chars=500, sample_rate=rate, voices=speakers,
                                               default_voices=speakers[:4] or ["default"])

    def identity(self) -> dict:
        return {"model": self.model, "files": self.files, "language": self.language}

    def voice_identity(self, voice: str) -> str | dict:
        return voice_identity(voice)

    @classmethod
    def known_voices(cls, settings: TTSSettings) -> list[str]:
        return ["(the model's speakers, or a path to a reference .wav)"]

    @classmethod
    def check(cls, settings: TTSSettings) -> tuple[bool, str]:
        if importlib.util.find_spec("TTS") is None or importlib.util.find_spec("torch") is None:
            return False, f"coqui-tts not installed ({INSTALL_HINT})"
        try:
            _import_coqui()
        except BackendUnavailable as exc:
            return False, str(exc)
        shim = getattr(sys.modules.get("torchaudio"), "__version__", "").endswith("shim")
        detail = "coqui-tts imports" + (" (torchaudio stand-in: soundfile + scipy)" if shim else "")
        if not settings.model:
            return True, detail + "; set tts.model to a model name or local checkpoint"
        return True, f"{detail}; model {settings.model}"

    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        kwargs: dict = {}
        if voice.lower().endswith((".wav", ".flac")) or Path(voice).is_file():
            kwargs["speaker_wav"] = voice
        elif voice != "default":
            kwargs["speaker"] = voice
        if self.tts.is_multi_lingual:
            kwargs["language"] = self.language or "en"
        try:
            audio = self.tts.tts(text=text, split_sentences=True, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise BackendUnavailable(f"coqui engine failed: {type(exc).__name__}: {exc}") from None
        return as_mono_float32(np.asarray(audio, dtype=np.float32), self.capabilities.sample_rate)
