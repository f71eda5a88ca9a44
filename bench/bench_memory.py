"""Memory of a full podcast run (make bench-memory): peak RSS of the llama.cpp server and of the whole CLI tree.

Runs `notebooklm-clone podcast SAMPLE -o <tmp> --model TIER` with the LLM answer cache off (every call reaches the
server) and samples /proc every ~0.2 s: the server process and the CLI with all its descendants (server, TTS,
ffmpeg). Prints each peak and its ratio to the GGUF's size. Target: server peak <= 2.5 GB for the default (1.5B)
tier with its 8k context; the exit code is 1 when the run fails or the default tier misses the target.

    python bench/bench_memory.py [--model default|small] [--sample samples/scanned-memo.pdf] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notebooklm_clone.llm.model_files import MODELS  # noqa: E402

SERVER_TARGET = 2.5e9  # bytes, default tier


def is_server(process: psutil.Process) -> bool:
    cmdline = " ".join(process.cmdline())
    return "llama_cpp.server" in cmdline or "notebooklm_clone.llm.embedded serve" in cmdline


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="default", help="embedded LLM tier")
    parser.add_argument("--sample", default=str(ROOT / "samples" / "scanned-memo.pdf"))
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    args = parser.parse_args()
    cli = Path(sys.executable).parent / "notebooklm-clone"
    model_size = MODELS[args.model].size

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text("[llm]\nuse_cache = false\n")
        command = [str(cli), "--config", str(config), "-q", "podcast", args.sample, "-o", str(Path(tmp) / "out"),
                   "--model", args.model]
        print(f"running: {' '.join(command)}", flush=True)
        start = time.monotonic()
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        root = psutil.Process(run.pid)
        server_peak = tree_peak = samples = 0
        server_pids: set[int] = set()
        while run.poll() is None:
            processes = tree(root)
            server_pids.update(p.pid for p in processes if p.pid not in server_pids and _safe(is_server, p))
            servers = [p for p in processes if p.pid in server_pids]
            server_peak = max(server_peak, sum(rss(p) for p in servers))
            tree_peak = max(tree_peak, sum(rss(p) for p in processes))
            samples += 1
            time.sleep(args.interval)
        stderr = run.stderr.read()
        wall = time.monotonic() - start

    gb = 1e9
    print(f"podcast of {Path(args.sample).name} with the {args.model} tier ({MODELS[args.model].alias}, "
          f"{model_size / gb:.2f} GB): exit {run.returncode} in {wall:.0f} s, {samples} samples, "
          f"{len(server_pids)} server process(es)")
    print(f"  server peak RSS    {server_peak / gb:5.2f} GB = {server_peak / model_size:.2f} x the model file")
    print(f"  CLI tree peak RSS  {tree_peak / gb:5.2f} GB = {tree_peak / model_size:.2f} x the model file")
    failed = run.returncode != 0
    if failed:
        print(f"  the run failed: {stderr.strip()[-600:]}")
    if args.model == "default":
        met = server_peak <= SERVER_TARGET
        print(f"  target: server peak <= {SERVER_TARGET / gb:.1f} GB: {'met' if met else 'MISSED'}")
        failed = failed or not met
    return 1 if failed else 0


def _safe(check, process: psutil.Process) -> bool:
    try:
        return check(process)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


if __name__ == "__main__":
    sys.exit(main())
