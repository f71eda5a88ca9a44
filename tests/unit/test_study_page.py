"""The study page (<doc>/index.html) and the batch index in a real headless Chromium driven by Selenium.

The document's outputs are written here by the output layer itself (study files, script, a podcast whose MP3 ffmpeg
makes), then the page is rendered from that folder and used as a reader would: chapters and turns seek the audio,
the transcript follows it, cards flip and keep their marks across a reload, the quiz scores and quotes its evidence,
citations open, nothing is fetched from the network and nothing scrolls sideways at 1280 or 390 px."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from notebooklm_clone.models import (
    Card, Chapter, ChunkNotes, Cited, Document, Evidence, Mixed, NotesResult, Placed, QAPair, QuizQuestion, Script,
    SectionSummary, Segment, Speaker, Summary, Term, Turn,
)
from notebooklm_clone.outputs.page import write_page
from notebooklm_clone.outputs.podcast import write_podcast
from notebooklm_clone.outputs.script import write_script
from notebooklm_clone.outputs.study import write_study

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and shutil.which("ffmpeg")),
    reason="needs chromium, chromium-driver and ffmpeg (apt install chromium chromium-driver ffmpeg)")

TITLE = 'Moss <script>alert("x")</script> & tuns'
WATER = "The water temperature stayed at 18 degrees Celsius."
COUNT = "We counted 42 tardigrades in sample A and 17 in sample B."


def ev(quote: str, page: int = 1) -> Evidence:
    return Evidence(sentence_id="s1", page=page, start=0, end=len(quote), quote=quote)


def notes() -> NotesResult:
    water = Cited(text="The water stayed at 18 °C.", pages=[1], evidence=[ev(WATER)], grounding="verified")
    count = Cited(text="42 animals in sample A, 17 in B.", pages=[2], evidence=[ev(COUNT, 2)], grounding="verified")
    return NotesResult(
        document="f" * 64, title=TITLE,
        chunk_notes=[ChunkNotes(chunk=0, section=["Methods"], pages=[1], key_points=[water]),
                     ChunkNotes(chunk=1, section=["Methods", "Counting <b>"], pages=[2], key_points=[count]),
                     ChunkNotes(chunk=2, section=["Results"], pages=[2], facts=[count])],
        summary=Summary(abstract=[count, water],
                        sections=[SectionSummary(title="Methods", pages=[1], sentences=[water])]),
        key_points=[water, count],
        glossary=[Term(term="tun", definition="A dried, dormant tardigrade.", pages=[2], evidence=[ev(COUNT, 2)])],
        qa=[QAPair(question="How warm was the water?", answer="18 °C", pages=[1], evidence=[ev(WATER)])],
        quiz=[QuizQuestion(question="How many animals were in sample A?", options=["42", "17", "9", "11"], answer="A",
                           pages=[2], evidence=[ev(COUNT, 2)]),
              QuizQuestion(question="How warm was the water?", options=["9 °C", "30 °C", "18 °C", "42 °C"],
                           answer="C", pages=[1], evidence=[ev(WATER)])],
        cards=[Card(front="Water temperature?", back="18 degrees Celsius", pages=[1], evidence=[ev(WATER)], kind="qa"),
               Card(front="Animals in sample A?", back="42", pages=[2], evidence=[ev(COUNT, 2)], kind="qa"),
               Card(front="tun", back="A dried, dormant tardigrade.", pages=[2], kind="term")])


def script() -> Script:
    turns = [("host", "Welcome. Today: moss and tuns.", 0), ("expert", "They soaked moss from a wall.", 0),
             ("host", "How many animals were there?", 1), ("expert", COUNT, 1)]
    return Script(title=TITLE, speakers=[Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")],
                  segments=[Segment(title="Opening", words=0), Segment(title="Counts", words=20)],
                  turns=[Turn(speaker=s, text=t, segment=g) for s, t, g in turns])


# Four turns over 8 s in two chapters: what the mix would have measured.
TURNS = [(0.2, 1.4), (1.6, 2.9), (3.1, 5.0), (5.2, 7.8)]
CHAPTERS = [("Opening", 0.0, 3.0), ("Counts", 3.0, 8.0)]


def mixed(mp3: bytes) -> Mixed:
    s = script()
    placed = [Placed(turn=i, speaker=t.speaker, name={"host": "Alex", "expert": "Sam"}[t.speaker], segment=t.segment,
                     text=t.text, start_s=start, end_s=end) for i, (t, (start, end)) in enumerate(zip(s.turns, TURNS))]
    return Mixed(title=TITLE, mp3=mp3, placed=placed, duration_s=8.0, lufs=-16.0, peak_dbtp=-1.0,
                 chapters=[Chapter(title=t, start_s=a, end_s=b) for t, a, b in CHAPTERS])


def tone_mp3(path: Path, seconds: float) -> bytes:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
                    "-ac", "1", "-ar", "24000", "-b:a", "64k", str(path)], check=True)
    return path.read_bytes()


def write_outputs(out: Path, podcast: bool = True) -> dict[str, str]:
    """The files a notes (+ podcast) run writes, through the output layer, and the page rendered from them."""
    document = Document(source="moss.pdf", sha256="f" * 64, title=TITLE, page_count=2)
    files = write_study(notes(), document, out, ["summary", "notes", "cards", "quiz"])
    if podcast:
        files.update(write_script(script(), out))
        files.update(write_podcast(mixed(tone_mp3(out / "tone.mp3", 8.0)), out, TITLE, "a", "b"))
        (out / "tone.mp3").unlink()
    page = write_page(out, files.values(), "English")
    assert page == out / "index.html"
    return {**files, "page": str(page)}


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_window_size(1280, 900)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("study") / "moss"
    write_outputs(out)
    return out / "index.html"


def open_page(driver, path: Path, width: int = 1280):
    driver.set_window_size(width, 900)
    driver.get(path.as_uri())
    driver.get_log("browser")  # drop what an earlier page logged
    return driver


def ready_audio(driver):
    """The player once its metadata is read (seeking works from then on), muted for a headless run."""
    deadline = time.time() + 20
    while driver.execute_script("return document.getElementById('player').readyState") < 1:
        assert time.time() < deadline, "the player never loaded podcast.mp3"
        time.sleep(0.1)
    driver.execute_script("const a = document.getElementById('player'); a.muted = true; a.pause();")


def current_time(driver) -> float:
    return driver.execute_script("return document.getElementById('player').currentTime")


def active_turns(driver) -> list[tuple[int, str | None]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('button.turn')].map((t, i) => [i, t.classList.contains('active'),"
        " t.getAttribute('aria-current')]).filter(r => r[1]).map(r => [r[0], r[2]])")


def severe_console(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_chapters_and_turns_seek_and_the_transcript_follows_the_audio(browser, page):
    open_page(browser, page)
    ready_audio(browser)
    chapters = browser.find_elements("css selector", "button.chapter")
    turns = browser.find_elements("css selector", "button.turn")
    assert [c.text.split(" ", 1)[1] for c in chapters] == ["Opening", "Counts"] and len(turns) == 4

    chapters[1].click()
    assert 3.0 <= current_time(browser) < 3.8  # it may have started playing from there
    browser.execute_script("document.getElementById('player').pause()")
    assert chapters[1].get_attribute("aria-current") == "true" and chapters[0].get_attribute("aria-current") is None

    for seconds, expected in ((4.0, 2), (0.5, 0), (6.0, 3), (2.0, 1)):
        browser.execute_script("const a = document.getElementById('player'); a.currentTime = arguments[0];"
                               " a.dispatchEvent(new Event('timeupdate'));", seconds)
        assert active_turns(browser) == [[expected, "true"]], seconds

    turns[3].click()
    assert 5.2 <= current_time(browser) < 6.0
    browser.execute_script("document.getElementById('player').pause()")
    assert active_turns(browser) == [[3, "true"]]
    turns[0].send_keys(" ")  # a real button: the keyboard seeks too
    assert 0.2 <= current_time(browser) < 1.0
    assert severe_console(browser) == []


def test_cards_flip_and_keep_their_marks_across_a_reload(browser, page):
    open_page(browser, page)
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    cards = browser.find_elements("css selector", ".card")
    back = cards[0].find_element("css selector", ".back")
    assert not back.is_displayed()
    flip = cards[0].find_element("css selector", "button.flip")
    flip.click()
    assert back.is_displayed() and "18 degrees Celsius" in back.text and flip.get_attribute("aria-expanded") == "true"
    flip.send_keys("\n")  # Enter on the focused button flips it back
    assert not back.is_displayed()

    cards[0].find_element("css selector", "button.known").click()
    cards[1].find_element("css selector", "button.unknown").click()
    browser.refresh()
    cards = browser.find_elements("css selector", ".card")
    pressed = [[c.find_element("css selector", f"button.{b}").get_attribute("aria-pressed")
                for b in ("known", "unknown")] for c in cards]
    marks = [(c.get_attribute("data-mark"), *p) for c, p in zip(cards, pressed)]
    assert marks == [("known", "true", "false"), ("unknown", "false", "true"), ("", "false", "false")]
    assert "1 known, 1 not yet, 1 unmarked" in browser.find_element("id", "card-tally").text
    browser.find_element("id", "cards-unknown-only").click()
    assert [c.is_displayed() for c in cards] == [False, True, True]
    key = browser.execute_script("return Object.keys(localStorage)")
    assert key == ["notebooklm-clone:cards:" + "f" * 64]  # one document's marks under its own key


def test_the_quiz_scores_and_quotes_the_evidence_of_a_wrong_answer(browser, page):
    open_page(browser, page)
    questions = browser.find_elements("css selector", ".question")
    questions[0].find_element("css selector", "input[value='A']").send_keys(" ")  # right, chosen from the keyboard
    questions[1].find_element("css selector", "input[value='B']").click()  # wrong
    browser.find_element("css selector", "#quiz button[type=submit]").click()
    assert browser.find_element("id", "quiz-score").text == "Score: 1 / 2"
    right, wrong = (q.find_element("css selector", ".why") for q in questions)
    assert not right.is_displayed()
    assert wrong.is_displayed() and WATER in wrong.text and "p. 1" in wrong.text
    assert "the answer is C) 18 °C" in questions[1].find_element("css selector", ".verdict").text
    browser.find_element("css selector", "#quiz button[type=reset]").click()
    assert browser.find_element("id", "quiz-score").text == "" and not wrong.is_displayed()


def test_a_citation_reveals_its_quote_and_page(browser, page):
    open_page(browser, page)
    button = browser.find_element("css selector", "#summary button.cite")
    quote = browser.find_element("id", button.get_attribute("aria-controls"))
    assert button.text == "p. 2" and not quote.is_displayed()
    button.click()
    assert quote.is_displayed() and COUNT in quote.text and "p. 2" in quote.text
    assert button.get_attribute("aria-expanded") == "true"


def test_the_document_is_text_and_the_page_fetches_nothing_from_the_network(browser, page):
    open_page(browser, page)
    ready_audio(browser)
    assert browser.title == TITLE and browser.find_element("css selector", "h1").text == TITLE
    assert browser.execute_script("return document.scripts.length") == 1  # the page's own, nothing injected
    assert "Counting <b>" in browser.find_element("id", "outline").text
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    requested = [m for m in (e["message"] for e in browser.get_log("performance")) if "Network.requestWillBeSent" in m]
    import json

    urls = [json.loads(m)["message"]["params"]["request"]["url"] for m in requested] + resources
    assert any(u.endswith("/podcast.mp3") for u in urls), "the audio request should be seen"
    assert all(u.startswith(("file:", "data:")) for u in urls), urls


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_fits_the_window(browser, page, tmp_path, width):
    open_page(browser, page, width)
    widths = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal scroll at {width} px: {widths}"
    assert browser.find_element("id", "player").size["width"] <= widths[1]
    shot = screenshot(browser, tmp_path / f"study-page-{width}.png", width)
    print(f"screenshot: {shot}")


def screenshot(driver, path: Path, width: int) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height, 6000))
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 0
    return path


def test_a_notes_only_run_renders_without_the_podcast(browser, tmp_path):
    out = tmp_path / "moss"
    write_outputs(out)  # an earlier run with a podcast...
    files = write_outputs(out, podcast=False)  # ...then a notes-only run: its leftovers are not shown
    assert (out / "podcast.mp3").is_file() and "podcast" not in files
    open_page(browser, out / "index.html")
    assert browser.find_elements("id", "player") == [] and browser.find_elements("id", "podcast") == []
    assert [a.get_attribute("hash") for a in browser.find_elements("css selector", "nav a")] == [
        "#summary", "#notes", "#cards", "#quiz-section", "#outline"]
    browser.find_element("css selector", ".card button.flip").click()  # the page's script runs without a player
    assert browser.find_element("css selector", ".card .back").is_displayed()
    assert severe_console(browser) == []


def test_nothing_to_show_writes_no_page(tmp_path):
    (tmp_path / "document.json").write_text("{}")
    assert write_page(tmp_path, [str(tmp_path / "document.json")]) is None
    assert not (tmp_path / "index.html").exists()


def test_the_batch_index_links_each_page_and_fits_a_phone(browser, tmp_path):
    from pdfs import make_pdf

    from notebooklm_clone.batch import Batch, render_index
    from notebooklm_clone.config import Settings

    root = tmp_path / "My papers"
    make_pdf(root / "moss.pdf", "alpha")
    make_pdf(root / ("a-very-long-file-name-without-any-space-" * 3 + ".pdf"), "beta")
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    manifest = Batch(root, out, settings, products=["extract"]).run()
    files = write_outputs(out / "moss")  # what a notes + podcast run of moss.pdf writes, recorded as it records it
    manifest.documents["moss.pdf"].files.update({k: str(Path(v).relative_to(out)) for k, v in files.items()})
    (out / "index.html").write_text(render_index(manifest, out), encoding="utf-8")

    for width in (1280, 390):
        open_page(browser, out / "index.html", width)
        link = browser.find_element("css selector", "a.page")
        assert link.get_attribute("href").endswith("/moss/index.html") and link.text == "Alpha Report"
        assert (out / unquote(link.get_attribute("href").split("/out/", 1)[1])).is_file()
        assert browser.find_element("css selector", "h1").text == "My papers"
        assert str(tmp_path) not in browser.find_element("tag name", "body").text  # no machine path
        row = browser.find_element("css selector", "tr[data-path='moss.pdf']")
        assert row.get_attribute("data-state") == "done"
        assert row.find_element("css selector", ".duration").text == "0:08"
        assert row.find_element("css selector", "audio").size["width"] > 100
        widths = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"horizontal scroll at {width} px: {widths}"
        print(f"screenshot: {screenshot(browser, tmp_path / f'batch-index-{width}.png', width)}")
    link.click()  # and the page opens from the index
    assert browser.find_element("css selector", "h1").text == TITLE


def test_controls_have_names_and_a_visible_keyboard_focus(browser, page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_page(browser, page)
    unnamed = browser.execute_script("""
        return [...document.querySelectorAll('button, input, audio')].filter(el =>
            !(el.textContent.trim() || el.getAttribute('aria-label') || el.closest('label')))
          .map(el => el.outerHTML)""")
    assert unnamed == []
    ActionChains(browser).send_keys(Keys.TAB).perform()  # the first stop is the skip link, shown when focused
    focused = browser.switch_to.active_element
    assert focused.get_attribute("class") == "skip" and focused.is_displayed() and focused.location["x"] >= 0
    chapter = browser.find_element("css selector", "button.chapter")
    browser.execute_script("arguments[0].focus()", chapter)  # after a key press, focus is drawn
    outline = browser.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth]", chapter)
    assert outline == ["solid", "3px"]


def test_a_script_without_audio_is_shown_as_text(browser, tmp_path):
    out = tmp_path / "moss"
    files = write_script(script(), out)
    assert write_page(out, files.values()) == out / "index.html"
    open_page(browser, out / "index.html", 390)
    section = browser.find_element("id", "podcast")
    assert "Podcast script" in section.text and "Sam " + COUNT in section.text
    assert [h.text for h in section.find_elements("css selector", "h3")] == ["Opening", "Counts"]
    assert browser.find_elements("id", "player") == [] and browser.find_elements("id", "cards") == []
    assert severe_console(browser) == []


def test_speak_in_a_document_folder_renders_its_page_again(tmp_path, monkeypatch):
    """`speak` on an edited script.json makes new timings; the page beside it must show them, not the old ones."""
    import json
    import re

    from click.testing import CliRunner

    from notebooklm_clone.cli import main

    if not shutil.which("espeak-ng"):
        pytest.skip("needs espeak-ng")
    out = tmp_path / "moss"
    write_outputs(out)
    monkeypatch.setenv("NOTEBOOKLM_CLONE_CACHE", str(tmp_path / "cache"))
    run = CliRunner().invoke(main, ["--json", "speak", str(out / "script.json"), "--engine", "espeak",
                                    "--workers", "1"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["files"]["page"] == str(out / "index.html")
    timings = json.loads((out / "podcast.json").read_text())
    starts = [float(s) for s in re.findall(r'class="turn[^"]*" data-start="([^"]+)"', (out / "index.html").read_text())]
    assert starts == [t["start_s"] for t in timings["turns"]] and starts != [start for start, _ in TURNS]
