"""The TTS engines for real: Piper and Kokoro voices that sound different, espeak-ng, the OpenAI speech API against a
local fake server (no real one is reachable from here), and Coqui with a tiny model built by Coqui's own API."""

from __future__ import annotations

import importlib.util
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

from notebooklm_clone.config import Settings, TTSSettings
from notebooklm_clone.errors import BackendUnavailable
from notebooklm_clone.models import Script, Speaker, Turn
from notebooklm_clone.outputs.podcast import write_podcast
from notebooklm_clone.stages.podcast import render_podcast
from notebooklm_clone.stages.speech import plan_clips
from notebooklm_clone.tts.engine import (
    TTSEngine,
    engine_class,
    engine_status,
    get_engine,
)
from notebooklm_clone.tts.registry import ENGINES

SENTENCE = "The study followed two hundred people for three years and found a clear effect."


def median_f0(audio: np.ndarray, rate: int, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Median fundamental frequency of the voiced frames: normalised autocorrelation per 40 ms frame; a frame counts
    as voiced when it is not near-silent and its best lag correlates above 0.6."""
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    lags = np.arange(int(rate / fmax), int(rate / fmin) + 1)
    loudest = float(np.max(np.abs(audio))) or 1.0
    f0s = []
    for start in range(0, len(audio) - frame - lags[-1], hop):
        x = audio[start: start + frame + lags[-1]].astype(np.float64)
        head = x[:frame]
        if np.sqrt(np.mean(head ** 2)) < 0.05 * loudest:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(x, frame)[lags]
        scores = windows @ head / (np.sqrt((windows ** 2).sum(axis=1) * (head @ head)) + 1e-12)
        best = int(np.argmax(scores))
        if scores[best] > 0.6:
            f0s.append(rate / lags[best])
    assert len(f0s) > 10, "too few voiced frames to measure a pitch"
    return float(np.median(f0s))


def test_median_f0_measures_a_known_tone():
    rate = 24000
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 150 * t) + 0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    assert median_f0(tone, rate) == pytest.approx(150, rel=0.01)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    return get_engine(TTSSettings(), cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.tts
def test_embedded_hosts_sound_different(embedded):
    """Speaker 1 (Piper joe) and speaker 2 (Kokoro jf_alpha speaking English) are an octave-ish apart; speaker 4
    (joe pitched down four semitones) is lower than joe by that factor, at about the same length."""
    joe, joe_rate = embedded.synthesize(SENTENCE, "joe")
    alpha, alpha_rate = embedded.synthesize(SENTENCE, "jf_alpha")
    deep, deep_rate = embedded.synthesize(SENTENCE, "joe-deep")
    assert (joe_rate, alpha_rate, deep_rate) == (22050, 24000, 22050)
    assert joe.dtype == alpha.dtype == np.float32 and joe.ndim == alpha.ndim == 1
    for audio, rate in ((joe, joe_rate), (alpha, alpha_rate)):
        assert 2.5 < len(audio) / rate < 8.0 and np.max(np.abs(audio)) <= 1.0
    f0_joe, f0_alpha, f0_deep = median_f0(joe, joe_rate), median_f0(alpha, alpha_rate), median_f0(deep, deep_rate)
    print(f"median F0: joe {f0_joe:.0f} Hz, jf_alpha {f0_alpha:.0f} Hz, joe-deep {f0_deep:.0f} Hz")
    assert f0_joe < 140 and f0_alpha > 180 and f0_alpha / f0_joe > 1.6
    assert f0_deep / f0_joe == pytest.approx(2 ** (-4 / 12), rel=0.08)
    assert len(deep) / deep_rate == pytest.approx(len(joe) / joe_rate, rel=0.2)


@pytest.mark.tts
def test_embedded_male_kokoro_voice_and_unknown_voice(embedded):
    audio, rate = embedded.synthesize("Good morning.", "jm_kumo")
    assert rate == 24000 and 0.4 < len(audio) / rate < 3
    with pytest.raises(BackendUnavailable, match="no voice"):
        embedded.synthesize("Hello.", "nobody")


def test_embedded_engine_keeps_kokoro_model_in_our_cache(embedded):
    import os

    from notebooklm_clone.tts.piper_kokoro import kokoro_model

    path = kokoro_model(embedded.cache_dir)
    assert path.parent == embedded.cache_dir and path.stat().st_size == 92361271  # the four parts, sha256-checked
    assert not list(embedded.cache_dir.glob("*.part"))
    assert os.environ["KOKORO_JA_CACHE"] == str(embedded.cache_dir)


def test_espeak_voices_differ_and_text_starting_with_dash_is_spoken():
    engine = get_engine(TTSSettings(engine="espeak"))
    low, rate = engine.synthesize("-- a dash first, then a normal sentence about speech.", "en-us+m3@35")
    high, _ = engine.synthesize("-- a dash first, then a normal sentence about speech.", "en-us+f3@65")
    assert rate == 22050 and len(low) / rate > 1.5
    assert median_f0(high, rate) > 1.3 * median_f0(low, rate)


def test_every_registered_engine_implements_the_protocol():
    """The registry's names are the engines' own, and each engine is a TTSEngine (importable without its models)."""
    for name in ENGINES:
        cls = engine_class(name)
        assert issubclass(cls, TTSEngine) and cls.name == name and not cls.__abstractmethods__


def test_engine_status_lists_every_engine():
    rows = {row["name"]: row for row in engine_status(TTSSettings())}
    assert list(rows) == list(ENGINES)
    assert rows["embedded"]["ok"] and "joe" in rows["embedded"]["voices"] and "jf_alpha" in rows["embedded"]["voices"]
    assert rows["espeak"]["ok"]
    assert rows["openai"]["ok"] is False and "OPENAI_API_KEY" in rows["openai"]["detail"]


@pytest.mark.skipif(importlib.util.find_spec("TTS") is not None, reason="coqui-tts is installed here")
def test_coqui_engine_reports_why_it_cannot_run_without_coqui():
    from notebooklm_clone.tts import coqui  # importable without torch

    row = next(r for r in engine_status(TTSSettings()) if r["name"] == "coqui")
    assert row["ok"] is False and "pip install torch==2.13.0" in row["detail"]
    with pytest.raises(BackendUnavailable, match="not installed"):
        coqui.CoquiEngine(TTSSettings(engine="coqui", model="/nowhere"))


# ---------------------------------------------------------------------------------------------------------------------
# OpenAI-compatible speech endpoint, served by a fake server on 127.0.0.1 (no real endpoint is reachable here)
# ---------------------------------------------------------------------------------------------------------------------
PITCH = {"onyx": 110.0, "nova": 220.0}


class FakeSpeech(BaseHTTPRequestHandler):
    requests: list[dict] = []
    fail_with: int | None = None

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeSpeech.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if FakeSpeech.fail_with:
            self.send_response(FakeSpeech.fail_with)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "overloaded"}}')
            return
        rate, seconds = 24000, 0.05 * len(body["input"])
        t = np.arange(int(rate * seconds)) / rate
        buffer = io.BytesIO()
        sf.write(buffer, 0.3 * np.sin(2 * np.pi * PITCH.get(body["voice"], 300.0) * t), rate, format="WAV",
                 subtype="PCM_16")
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(buffer.getvalue())))
        self.end_headers()
        self.wfile.write(buffer.getvalue())

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_speech_server():
    FakeSpeech.requests, FakeSpeech.fail_with = [], None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSpeech)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_engine_speaks_each_host_with_its_voice_fake_server(fake_speech_server, tmp_path):
    settings = Settings(cache_dir=str(tmp_path / "cache"),
                        tts=TTSSettings(engine="openai", base_url=fake_speech_server, api_key="sk-test",
                                        model="tts-test", workers=1))
    script = Script(title="Fake", speakers=[Speaker(id="host", name="Ann"), Speaker(id="guest", name="Bo")],
                    turns=[Turn(speaker="host", text="Hello and welcome."),
                           Turn(speaker="guest", text="Hi, 50% more!")])
    result, _ = render_podcast(script, settings)
    requests = sorted(FakeSpeech.requests, key=lambda r: r["voice"] != "onyx")  # the longest turn goes first
    assert [(r["path"], r["voice"], r["model"], r["input"], r["response_format"], r["auth"]) for r in requests] == [
        ("/v1/audio/speech", "onyx", "tts-test", "Hello and welcome.", "wav", "Bearer sk-test"),
        ("/v1/audio/speech", "nova", "tts-test", "Hi, fifty percent more!", "wav", "Bearer sk-test"),
    ]
    assert result.voices == {"host": "onyx", "guest": "nova"} and result.clips_synthesized == 2
    # 18 and 23 characters at 50 ms each, plus the quick 200 ms pause after a three-word turn
    assert result.duration_s == pytest.approx(0.9 + 0.2 + 1.15, abs=0.002)


def test_openai_engine_error_is_backend_unavailable_fake_server(fake_speech_server):
    FakeSpeech.fail_with = 503
    engine = get_engine(TTSSettings(engine="openai", base_url=fake_speech_server, api_key="k", max_retries=0))
    with pytest.raises(BackendUnavailable, match="speech endpoint .* failed"):
        engine.synthesize("Hello.", "onyx")
    assert len(FakeSpeech.requests) == 1


def test_espeak_over_its_time_limit_is_backend_unavailable(monkeypatch):
    from notebooklm_clone.tts import espeak

    engine = get_engine(TTSSettings(engine="espeak"))
    monkeypatch.setattr(espeak, "TIMEOUT_S", 0.001)
    with pytest.raises(BackendUnavailable, match=r"^espeak-ng did not finish within 0\.001 s for voice 'en-us'$"):
        engine.synthesize(SENTENCE * 20, "en-us")


def test_openai_engine_without_key_or_url_is_backend_unavailable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendUnavailable, match="API key"):
        get_engine(TTSSettings(engine="openai", model="no-key"))


# ---------------------------------------------------------------------------------------------------------------------
# Coqui: a tiny VITS (random weights, two speakers) built with Coqui's own API, saved, loaded back through the engine
# ---------------------------------------------------------------------------------------------------------------------
def test_coqui_key_parts_follow_model_files_and_speaker_wav_contents(tmp_path):
    """What keys a Coqui clip besides the text: the model's files (path, size, mtime) and a reference recording's
    contents, so a retrained checkpoint or a re-recorded speaker_wav at the same path never reuses an old clip."""
    import os

    from notebooklm_clone.tts import coqui  # importable without torch or coqui-tts

    model = tmp_path / "model"
    model.mkdir()
    (model / "best_model.pth").write_bytes(b"weights, first training run")
    (model / "config.json").write_text('{"audio": {"sample_rate": 16000}}')
    (model / "speakers.json").write_text('{"alice": 0}')
    wav = tmp_path / "speaker.wav"
    rng = np.random.default_rng(0)
    sf.write(wav, 0.1 * rng.standard_normal(16000), 16000)

    def model_key():
        return coqui.file_stamps(coqui.model_files(str(model), None))

    first_model, first_voice = model_key(), coqui.voice_identity(str(wav))
    assert model_key() == first_model and coqui.voice_identity(str(wav)) == first_voice
    assert coqui.voice_identity("alice") == "alice"  # a speaker name is its own identity

    stat = wav.stat()
    sf.write(wav, 0.1 * rng.standard_normal(16000), 16000)  # re-recorded: same size, same mtime
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert wav.stat().st_size == stat.st_size
    assert coqui.voice_identity(str(wav)) != first_voice

    (model / "best_model.pth").write_bytes(b"weights, second training run")
    assert model_key() != first_model
    second_model = model_key()
    (model / "speakers.json").write_text('{"alice": 0, "bob": 1}')
    assert model_key() != second_model


def build_tiny_vits(directory) -> None:
    from notebooklm_clone.tts.coqui import _import_coqui

    _import_coqui()  # registers the torchaudio stand-in when the real one cannot load here
    import torch
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "speakers.json").write_text(json.dumps({"alice": 0, "bob": 1}))
    args = VitsArgs(hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
                    num_layers_text_encoder=1, num_layers_flow=1, num_layers_posterior_encoder=1,
                    resblock_type_decoder="2", resblock_kernel_sizes_decoder=[3],
                    resblock_dilation_sizes_decoder=[[1, 3]], upsample_rates_decoder=[8, 8, 2, 2],
                    upsample_initial_channel_decoder=32, upsample_kernel_sizes_decoder=[16, 16, 4, 4],
                    use_sdp=False, init_discriminator=False, use_speaker_embedding=True,
                    speakers_file=str(directory / "speakers.json"), speaker_embedding_channels=16)
    config = VitsConfig(model_args=args, use_phonemes=False, text_cleaner="english_cleaners",
                        use_speaker_embedding=True, speakers_file=str(directory / "speakers.json"))
    config.audio.sample_rate = 16000
    torch.manual_seed(0)
    model = Vits(config)
    torch.save({"model": model.state_dict()}, directory / "best_model.pth")
    config.save_json(str(directory / "config.json"))


@pytest.mark.skipif(importlib.util.find_spec("TTS") is None,
                    reason="coqui-tts not installed "
                           "(pip install torch==2.13.0 && pip install -r scripts/requirements-coqui.txt)")
def test_coqui_engine_with_tiny_model_built_by_coqui(tmp_path):
    build_tiny_vits(tmp_path / "tiny")
    engine = get_engine(TTSSettings(engine="coqui", model=str(tmp_path / "tiny")), threads=1)
    assert engine.capabilities.sample_rate == 16000 and engine.capabilities.voices == ["alice", "bob"]
    row = next(r for r in engine_status(TTSSettings(model=str(tmp_path / "tiny"))) if r["name"] == "coqui")
    assert row["ok"] is True
    # a 2-host podcast through the whole path: per-speaker speakers, cache, mix
    settings = Settings(cache_dir=str(tmp_path / "cache"),
                        tts=TTSSettings(engine="coqui", model=str(tmp_path / "tiny"), workers=1))
    script = Script(title="Tiny", speakers=[Speaker(id="a", name="A"), Speaker(id="b", name="B")],
                    turns=[Turn(speaker="a", text="Hello there, this is a test."),
                           Turn(speaker="b", text="And this is the second speaker.")])
    result, mixed = render_podcast(script, settings)
    write_podcast(mixed, tmp_path / "out", script.title, "artist", "album")
    assert result.voices == {"a": "alice", "b": "bob"} and result.clips_synthesized == 2
    assert result.duration_s > 0.5 and (tmp_path / "out" / "podcast.mp3").stat().st_size > 1000
    with pytest.raises(BackendUnavailable, match="cannot load model"):
        get_engine(TTSSettings(engine="coqui", model="tts_models/xx/none/missing"))

    # the clip cache key follows a reference recording's contents and the checkpoint's file
    wav = tmp_path / "speaker.wav"
    sf.write(wav, 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    voiced = settings.model_copy(update={"tts": settings.tts.model_copy(update={"voices": {"a": str(wav)}})})
    first = plan_clips(script, voiced, engine)[0].path
    sf.write(wav, 0.1 * np.random.default_rng(1).standard_normal(16000), 16000)
    assert plan_clips(script, voiced, engine)[0].path != first
    again = plan_clips(script, voiced, engine)[0].path
    build_tiny_vits(tmp_path / "tiny")  # the checkpoint written again, as a further training run would
    reloaded = engine_class("coqui")(voiced.tts, threads=1)
    assert plan_clips(script, voiced, reloaded)[0].path != again
