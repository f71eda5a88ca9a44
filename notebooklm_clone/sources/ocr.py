"""OCR of a scanned page with the Tesseract program: upright, in the page's language, column by column.

The program rather than MuPDF's built-in OCR because it reports how a page is turned and in which script it is
written (OSD), and gives every word its box, so the page can be turned upright and its columns read one at a time.
What happens to a page (`PageReader.read`):
1. it is rendered in grey at 300 dpi (less for a poster: the picture stays under MAX_PIXELS), turned as the page
   before it was, and straightened by its skew (`estimate_skew`: the small angle whose rows of dark pixels are
   sharpest);
2. one Tesseract pass in the language the document was read in so far (the first page: --ocr-lang, else English);
   when most of what comes out is not word-like (`word_share`) or Tesseract is unsure of it, OSD says how the page
   is turned and in which script it is written, and the page is read again upright in that script's language (the
   better of the two readings is kept);
3. unless --ocr-lang says otherwise, the language of Latin-script text is detected (text/lang.py); when it is another
   language whose data is installed, the page is read once more in it and later pages start in it, so a French
   document costs one extra pass on its first page only; Chinese text with kana is read again as Japanese;
4. the words are put in reading order column by column (columns.py).
English pages that read well cost one pass: OSD runs only for pages that do not.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from ..errors import UsageError
from ..procs import die_with_parent
from ..text.lang import guess_language, language_code
from .columns import _NO_SPACE, Word, column_order, join_words

DPI = 300
MAX_PIXELS = 40_000_000  # a poster is rendered at a lower resolution; its letters are large anyway
MAX_SKEW = 6.0  # degrees tried either way when straightening a page
TIMEOUT = 300  # seconds for one Tesseract run
GOOD_SHARE = 0.75  # below this share of word-like words (or confidence), a reading is suspect and OSD is asked
GOOD_CONFIDENCE = 55.0
MIN_WORDS_FOR_LANGUAGE = 25  # fewer words say too little about their language to read the page again
# ISO 639-1 -> Tesseract's language data; Debian packages them as tesseract-ocr-<code with - for _>
TESSERACT = {"en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por", "nl": "nld",
             "zh": "chi_sim", "ja": "jpn", "ar": "ara", "th": "tha", "ru": "rus", "uk": "ukr", "el": "ell",
             "ko": "kor", "hi": "hin", "he": "heb", "pl": "pol", "cs": "ces", "sv": "swe", "da": "dan", "no": "nor",
             "fi": "fin", "tr": "tur", "hu": "hun", "ro": "ron", "vi": "vie", "id": "ind", "ca": "cat"}
ISO = {code: iso for iso, code in TESSERACT.items()} | {"chi_tra": "zh"}
SCRIPTS = {"Latin": "eng", "Han": "chi_sim", "Japanese": "jpn", "Hiragana": "jpn", "Katakana": "jpn",
           "Arabic": "ara", "Thai": "tha", "Cyrillic": "rus", "Greek": "ell", "Hangul": "kor", "Korean": "kor",
           "Devanagari": "hin", "Hebrew": "heb"}
_KANA = re.compile(r"[\u3040-\u30ff]")
_WORD = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*$")
_NUMBER = re.compile(r"^[(\[]?[$€£]?\d+(?:[.,:/\-]\d+)*%?[)\]]?$")
_VOWELS = set("aeiouyàâäáãåæéèêëíìîïóòôöõøœúùûüýÿ")
_EDGE = "\"'“”‘’«»()[]{}.,;:!?¡¿…-–—*"


class OcrFailed(Exception):
    """A page Tesseract could not read; the message is the reason, for the warning that names the page."""


def find_tessdata() -> str | None:
    """Tesseract's language folder (TESSDATA_PREFIX when set, else where the tesseract-ocr package puts it)."""
    explicit = os.environ.get("TESSDATA_PREFIX")
    candidates = [explicit] if explicit else []
    if not explicit:
        candidates += sorted(str(p) for p in Path("/usr/share/tesseract-ocr").glob("*/tessdata"))
        candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata"]
    for folder in candidates:
        if folder and any(Path(folder).glob("*.traineddata")):
            return folder
    return None


def installed_languages(tessdata: str) -> set[str]:
    return {p.stem for p in Path(tessdata).glob("*.traineddata")} - {"osd", "equ"}


def tesseract_languages(setting: str, tessdata: str) -> str | None:
    """--ocr-lang as Tesseract's -l: None for "auto"; "French", "fr", "fra" or "fra+eng" otherwise. A language
    without installed data is a usage error naming the package to install."""
    if not setting or setting.strip().lower() == "auto":
        return None
    codes, installed = [], installed_languages(tessdata)
    for part in [p.strip() for p in re.split(r"[+,]", setting.strip()) if p.strip()]:
        code = part if part in installed else TESSERACT.get(language_code(part), part)
        if code not in installed:
            known = code in TESSERACT.values() or re.fullmatch(r"[a-z]{3}(_[a-z]+)?", code)
            raise UsageError(f"--ocr-lang {setting}: no Tesseract data for {part!r} " + (
                f"(install tesseract-ocr-{code.replace('_', '-')})" if known else
                f"(installed: {', '.join(sorted(installed))})"))
        codes.append(code)
    return "+".join(codes)


def word_share(text: str) -> float:
    """The share of a text's words that look like words of a language: letters only (an apostrophe or hyphen
    inside), in lower, upper or title case, with a vowel when Latin and longer than three letters; numbers count as
    words, Chinese, Japanese and Thai characters too. OCR garbage ("eC.", "onsa©", "> Oo @") scores low. No
    dictionary: it must judge any language."""
    good = total = 0
    for token in text.split():
        cjk = len(_NO_SPACE.findall(token))
        if cjk:
            good, total = good + cjk, total + cjk
            continue
        core = token.strip(_EDGE)
        total += 1
        if _NUMBER.match(core):
            good += 1
        elif _WORD.match(core) and (core.islower() or core.isupper() or core.istitle()):
            latin = core.isascii() or any(ch in _VOWELS for ch in core.lower())
            good += not latin or len(core) <= 3 or any(ch in _VOWELS for ch in core.lower())
    return good / total if total else 0.0


@dataclass
class Reading:
    """One Tesseract pass over one rendering of a page."""

    words: list[Word]
    lines: dict[tuple[int, int, int], tuple[float, float]]  # line -> its top and bottom
    language: str
    size: tuple[float, float]  # of the rendering, in points
    scale: float  # pixels per point

    @property
    def text(self) -> str:
        return join_words([w.text for w in self.words])

    def sideways(self) -> bool:
        """Whether most longer words stand taller than wide: Tesseract read a page lying on its side (it can), but
        its boxes are those of the lying page, whose lines would come in the wrong order."""
        longer = [w for w in self.words if len(w.text) >= 4]
        return len(longer) >= 3 and sum(w.y1 - w.y0 > w.x1 - w.x0 for w in longer) > len(longer) / 2

    def quality(self) -> float:
        """The lower of the word-like share and the mean confidence (as a share)."""
        if not self.words:
            return 0.0
        confidence = sum(w.conf for w in self.words) / len(self.words) / 100
        return min(word_share(self.text), confidence * GOOD_SHARE / (GOOD_CONFIDENCE / 100))


@dataclass
class PageReader:
    """Reads the scanned pages of one document, carrying what one page taught (its turn, its language) to the next."""

    tessdata: str
    forced: str | None = None  # Tesseract -l from --ocr-lang
    language: str = ""
    rotation: int = 0
    used: dict[str, int] = field(default_factory=dict)  # language -> pages read in it
    missing: set[str] = field(default_factory=set)  # scripts seen whose language data is not installed

    def __post_init__(self):
        self.installed = installed_languages(self.tessdata)
        self.language = self.language or self.forced or ("eng" if "eng" in self.installed else min(self.installed))

    def read(self, page: pymupdf.Page):
        """(blocks in reading order, (width, height) of the upright page in points). OcrFailed says why not."""
        if shutil.which("tesseract") is None:
            raise OcrFailed("the tesseract program is not installed (apt-get install tesseract-ocr)")
        reading = self._pass(page, self.rotation, self.language)
        if reading.quality() < GOOD_SHARE or reading.sideways():
            reading = self._upright(page, reading)
        if not self.forced:
            reading = self._in_its_language(page, reading)
        self.language = reading.language
        self.used[reading.language] = self.used.get(reading.language, 0) + 1
        return column_order(reading), reading.size

    def _upright(self, page: pymupdf.Page, first: Reading) -> Reading:
        """OSD's turn and script for a page read badly; the better reading of the two."""
        rotate, script = self._osd(page)
        language = self.language
        if not self.forced and script == "Latin" and language in set(SCRIPTS.values()) - {"eng"}:
            language = "eng" if "eng" in self.installed else language  # a Latin page after a Chinese one
        elif not self.forced and script and script != "Latin":
            language = SCRIPTS.get(script, language)
            if language not in self.installed:
                self.missing.add(script)
                language = self.language
        if rotate == self.rotation and language == first.language:
            return first
        second = self._pass(page, rotate, language)
        if second.quality() > first.quality() or (first.sideways() and not second.sideways()
                                                     and second.quality() >= first.quality() - 0.05):
            self.rotation = rotate
            return second
        return first

    def _in_its_language(self, page: pymupdf.Page, reading: Reading) -> Reading:
        text = reading.text
        if reading.language in ("chi_sim", "chi_tra") and "jpn" in self.installed and len(_KANA.findall(text)) >= 5:
            return self._pass(page, self.rotation, "jpn")
        if len(text.split()) < MIN_WORDS_FOR_LANGUAGE or _NO_SPACE.search(text):
            return reading
        wanted = TESSERACT.get(guess_language(text), "")
        if wanted and wanted != reading.language and wanted in self.installed:
            again = self._pass(page, self.rotation, wanted)
            return again if again.quality() >= reading.quality() - 0.05 else reading
        return reading

    def _osd(self, page: pymupdf.Page) -> tuple[int, str]:
        """(degrees to turn the page, script) from Tesseract's OSD; (current turn, "") when it cannot tell."""
        if not (Path(self.tessdata) / "osd.traineddata").exists():
            return self.rotation, ""
        image, _ = render(page, 0, 0.0, DPI // 2)
        try:
            out = self._tesseract(image, "--psm", "0", "-l", "osd", "--dpi", str(DPI // 2))
        except OcrFailed:  # "Too few characters": a page with little text keeps its first reading
            return self.rotation, ""
        rotate = re.search(r"Rotate: (\d+)", out)
        script = re.search(r"Script: (\w+)", out)
        return (int(rotate.group(1)) % 360 if rotate else self.rotation), (script.group(1) if script else "")

    def _pass(self, page: pymupdf.Page, rotate: int, language: str) -> Reading:
        skew = estimate_skew(page, rotate)
        dpi = min(DPI, int(math.sqrt(MAX_PIXELS / max(1.0, page.rect.width * page.rect.height)) * 72))
        image, size = render(page, rotate, skew, dpi)
        tsv = self._tesseract(image, "--psm", "3", "-l", language, "--dpi", str(dpi), "tsv")
        return parse_tsv(tsv, language, size, dpi / 72)

    def _tesseract(self, image: bytes, *args: str) -> str:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1", "TESSDATA_PREFIX": self.tessdata}  # threads make it slower
        try:
            done = subprocess.run(["tesseract", "stdin", "stdout", *args], input=image, capture_output=True,
                                  timeout=TIMEOUT, env=env, preexec_fn=die_with_parent)
        except subprocess.TimeoutExpired:
            raise OcrFailed(f"Tesseract took longer than {TIMEOUT} s") from None
        except OSError as exc:
            raise OcrFailed(f"Tesseract could not be started ({exc.strerror or exc})") from None
        if done.returncode != 0:
            raise OcrFailed(f"Tesseract: {_reason(done.stderr)}")
        return done.stdout.decode("utf-8", "replace")


def _reason(stderr: bytes) -> str:
    """The line of Tesseract's complaints that says most (an error, else its last line)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    wanted = [line for line in lines if re.search(r"error|fail|cannot|can't|too|not", line, re.I)]
    return (wanted or lines or ["it stopped without saying why"])[0][:200]


def render(page: pymupdf.Page, rotate: int, skew: float, dpi: int) -> tuple[bytes, tuple[float, float]]:
    """The page as a grey PNM picture, turned by `rotate` and `skew` degrees; its size in points."""
    matrix = pymupdf.Matrix(dpi / 72, dpi / 72).prerotate(rotate + skew)
    try:
        pixmap = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, alpha=False)
    except Exception as exc:  # noqa: BLE001 - MuPDF raises several types for a picture it cannot draw
        raise OcrFailed(f"the page could not be rendered ({str(exc).strip()[:120] or type(exc).__name__})") from None
    return pixmap.tobytes("pnm"), (pixmap.width * 72 / dpi, pixmap.height * 72 / dpi)


def estimate_skew(page: pymupdf.Page, rotate: int = 0, dpi: int = 60) -> float:
    """The tilt (degrees, within MAX_SKEW) that makes the rows of dark pixels sharpest, 0 when no angle does clearly
    better than none: text lines are rows, and a tilted page smears them over the rows below."""
    import numpy as np

    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72).prerotate(rotate), colorspace=pymupdf.csGRAY,
                             alpha=False)
    grey = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)[:, :pixmap.width]
    ys, xs = np.nonzero(grey < 128)
    if len(ys) < 200 or len(ys) > 0.5 * grey.size:
        return 0.0
    xs = xs - xs.mean()

    def sharpness(angle: float) -> float:
        rows = np.round(ys + xs * math.tan(math.radians(angle))).astype(np.int64)
        counts = np.bincount(rows - rows.min())
        return float((counts.astype(np.float64) ** 2).sum())

    angles = np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.25)
    scores = [sharpness(a) for a in angles]
    best = int(np.argmax(scores))
    if abs(angles[best]) < 0.4 or scores[best] < 1.1 * sharpness(0.0):
        return 0.0
    return float(angles[best])


def parse_tsv(tsv: str, language: str, size: tuple[float, float], scale: float) -> Reading:
    """Tesseract's TSV as words (in points) with their lines' tops and bottoms."""
    words, lines = [], {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12:
            continue
        level, key = cells[0], (int(cells[2]), int(cells[3]), int(cells[4]))
        x, y, w, h = (int(c) / scale for c in cells[6:10])
        if level == "4":
            lines[key] = (y, y + h)
        elif level == "5" and cells[11].strip():
            words.append(Word(cells[11].strip(), x, y, x + w, y + h, key, max(0.0, float(cells[10]))))
    return Reading(words, lines, language, size, scale)
