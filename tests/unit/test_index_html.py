"""OUT/index.html in a real headless Chromium: the links and the podcast player are in the DOM, names are escaped,
and the player reads the duration of a real MP3 (made here with ffmpeg)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pdfs import make_pdf

from notebooklm_clone.batch import Batch, render_index
from notebooklm_clone.config import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not shutil.which("ffmpeg"),
                                reason="needs chromium and ffmpeg (scripts/setup.sh installs them)")


def dump_dom(page: Path) -> str:
    """The DOM after the page has run for a (virtual) 5 s: long enough for the audio metadata to load."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        run = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--autoplay-policy=no-user-gesture-required",
             "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


class Elements(HTMLParser):
    """Collects every element's attributes by tag, and the text of the whole page."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: dict[str, list[dict[str, str]]] = {}
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.setdefault(tag, []).append({k: v or "" for k, v in attrs})

    def handle_data(self, data):
        self.text.append(data)


def test_index_links_outputs_and_plays_the_podcast(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    make_pdf(root / "sub dir" / "q&a <em>.pdf", "beta")
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    Batch(root, out, settings, products=["extract"]).run()

    # The study and podcast outputs of the notes/podcast stages, as those stages name them, plus a real 1.5 s MP3,
    # recorded in the manifest as a run with those products records them (the index links only recorded outputs).
    for name in ("summary.md", "notes.md", "quiz.md", "cards.csv", "cards.apkg", "script.md", "transcript.md"):
        (out / "alpha" / name).write_text(f"# {name}\n", encoding="utf-8")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=1.5",
                    "-ac", "1", "-ar", "24000", "-b:a", "64k", str(out / "alpha" / "podcast.mp3")], check=True)
    manifest = Batch(root, out, settings, products=["extract"]).run()  # nothing to redo
    manifest.documents["alpha.pdf"].files.update({
        "summary": "alpha/summary.md", "notes": "alpha/notes.md", "quiz": "alpha/quiz.md",
        "cards_csv": "alpha/cards.csv", "cards_apkg": "alpha/cards.apkg", "script_md": "alpha/script.md",
        "transcript": "alpha/transcript.md", "podcast": "alpha/podcast.mp3"})
    (out / "index.html").write_text(render_index(manifest, out), encoding="utf-8")

    page = out / "index.html"
    html = dump_dom(page)
    dom = Elements(html)
    rows = {r["data-path"]: r["data-state"] for r in dom.tags["tr"] if "data-path" in r}
    assert rows == {"alpha.pdf": "done", "broken.pdf": "failed", "sub dir/q&a <em>.pdf": "done"}
    assert "em" not in dom.tags, "a file name must be shown as text, never as markup"
    text = "".join(dom.text)
    assert "sub dir/q&a <em>.pdf" in text and "Alpha Report" in text and "is damaged" in text

    hrefs = [a["href"] for a in dom.tags["a"]]
    assert hrefs == ["alpha/summary.md", "alpha/notes.md", "alpha/quiz.md", "alpha/cards.apkg", "alpha/cards.csv",
                     "alpha/script.md", "alpha/transcript.md", "alpha/document.json", "alpha/report.json",
                     "sub%20dir/q%26a%20%3Cem%3E/document.json",
                     "sub%20dir/q%26a%20%3Cem%3E/report.json"]
    for href in hrefs:  # every relative link resolves to a file next to index.html
        from urllib.parse import unquote

        assert (out / unquote(href)).is_file(), href
    [audio] = dom.tags["audio"]
    assert audio["src"] == "alpha/podcast.mp3" and "controls" in audio
    assert float(audio["data-duration"]) == pytest.approx(1.5, abs=0.06), "the player did not load the MP3"
    assert '<span class="duration">0:01</span>' in html  # the length next to the player, in whole seconds
