"""Builders of real test PDFs (PyMuPDF), each with text the tests know exactly. Other test files may import these.

The flowing-text builders use `Writer` from scripts/make_samples.py, the same layout engine as the shipped samples.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
make_samples = sys.modules.setdefault("make_samples", importlib.util.module_from_spec(_spec))
if not hasattr(make_samples, "Writer"):
    _spec.loader.exec_module(make_samples)
Writer = make_samples.Writer
scanned_pdf = make_samples.scanned_pdf

HEADER = "Journal of Testing - Volume 3"
FOOTER = "Preprint - do not cite"

INTRO = ("Water bears survive drying by entering a tun state. The tun loses most of its water and its metabolism "
         "nearly stops. Revival takes minutes to hours.")
BACKGROUND = "Goeze described the animal in 1773. Spallanzani named the group Tardigrada in 1776."
METHODS = ("We dried 120 animals at 85 percent humidity for one day. Survival was counted after rehydration. "
           "Animals that walked within one day were counted as alive.")
RESULTS = "Of the 120 animals, 97 recovered, a survival rate of 81 percent."
REFERENCES = ["[1] Goeze JAE. Herrn Karl Bonnets Abhandlungen aus der Insektologie. 1773.",
              "[2] Boothby TC et al. Molecular Cell 65:975-984, 2017."]
APPENDIX = "Raw counts are listed in the supplementary table."

HYPHEN_LINES = ["We collected the infor-", "mation from every station with a state-of-the-",
                "art sensor that tracked the well-", "being of the crew over many weeks. The tempera\u00ad",
                "ture stayed constant."]
HYPHEN_TEXT = ("We collected the information from every station with a state-of-the-art sensor that tracked the "
               "well-being of the crew over many weeks. The temperature stayed constant.")

LEFT = ["Left one: the left column starts here and continues with several words of text.",
        "Left two: this paragraph ends the left column."]
RIGHT = ["Right one: the right column begins at the top of the page.",
         "Right two: this is the last paragraph of the right column."]


def _paper() -> Writer:
    """Three pages: headings (levels 1 and 2), running header/footer and page numbers, references, appendix."""
    writer = Writer(header=HEADER, footer=FOOTER)
    writer.new_page()
    writer.text("A Test Paper on Water Bears", "sans-bold", 18, space_after=12)
    writer.heading("1 Introduction", 1)
    writer.text(INTRO)
    writer.heading("1.1 Background", 2)
    writer.text(BACKGROUND)
    writer.new_page()
    writer.heading("2 Methods", 1)
    writer.text(METHODS)
    writer.heading("3 Results", 1)
    writer.text(RESULTS)
    writer.new_page()
    writer.heading("References", 1)
    for ref in REFERENCES:
        writer.text(ref, size=9)
    writer.heading("Appendix A", 1)
    writer.text(APPENDIX)
    return writer


def paper_pdf(path: Path, toc: bool = True, **save_args) -> Path:
    """The three-page paper; with toc=True its headings are also the PDF outline."""
    return _paper().save(path, toc=toc, metadata={"title": "A Test Paper on Water Bears",
                                                      "author": "Ada Lovelace and Alan Turing"}, **save_args)


def toc_only_headings_pdf(path: Path) -> Path:
    """Headings set in the body font (so only the outline can tell they are headings)."""
    writer = Writer()
    writer.new_page()
    writer.text("Overview")
    writer.text(INTRO)
    writer.text("Details")
    writer.text(BACKGROUND)
    writer.new_page()
    writer.text("Method")
    writer.text(METHODS)
    writer.doc.set_toc([[1, "Overview", 1], [2, "Details", 1], [1, "Method", 2]])
    return writer.save(path, toc=False)


def encrypted_pdf(path: Path, password: str = "s3cret") -> Path:
    return paper_pdf(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner")


def hyphen_pdf(path: Path) -> Path:
    """One page whose lines break inside 'information', after the hyphens of 'state-of-the-' and 'well-', and at a
    soft hyphen inside 'temperature'."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "\n".join(HYPHEN_LINES), fontname="tiro", fontsize=11)
    doc.save(path)
    return path


def two_column_pdf(path: Path) -> Path:
    """A full-width title, then two columns of two paragraphs each, then a full-width closing line."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(72, 60, 540, 90), "Two Column Page", fontname="hebo", fontsize=16)
    for x0, paragraphs in ((72, LEFT), (320, RIGHT)):
        y = 110
        for para in paragraphs:
            page.insert_textbox(pymupdf.Rect(x0, y, x0 + 220, y + 80), para, fontname="tiro", fontsize=11)
            y += 90
    page.insert_textbox(pymupdf.Rect(72, 320, 540, 350), "A closing line that spans the whole page width, below both "
                        "columns.", fontname="tiro", fontsize=11)
    doc.save(path)
    return path


def text_and_scan_pdf(path: Path, scan_paragraphs: list[str]) -> Path:
    """Page 1 has a text layer; page 2 is only a picture of text."""
    scan = pymupdf.open(scanned_pdf(path.with_suffix(".scan.pdf"), scan_paragraphs))
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "This first page has a real text layer.", fontname="tiro", fontsize=11)
    doc.insert_pdf(scan)
    doc.save(path)
    return path


def blank_pdf(path: Path, pages: int = 2) -> Path:
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page()
    doc.save(path)
    return path


def long_pdf(path: Path, pages: int = 1000) -> Path:
    """Many short pages, built fast: a running header, a numbered line of body text and a page number on each."""
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page()
        page.insert_text((72, 40), "Long Report - running header", fontsize=9)
        page.insert_text((72, 100), f"Body of page {number}. The measurement on this page was {number * 3} units.",
                         fontsize=11)
        page.insert_text((300, 770), str(number), fontsize=9)
    doc.save(path, garbage=1, deflate=True)
    return path


# Small report PDFs for batch and process tests

TOPICS = {
    "alpha": "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "beta": "The mitochondrion produces most of the cell's supply of adenosine triphosphate.",
    "gamma": "Plate tectonics explains earthquakes, volcanoes and the drift of the continents.",
    "delta": "The French Revolution began in 1789 and ended the absolute monarchy in France.",
}


def make_pdf(path: Path, title: str, pages: int = 2, text: str | None = None, **save_options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page()
        page.insert_text((72, 72), f"{title}: section {number}", fontsize=16)
        body = text or TOPICS.get(title, f"Body text of {title}.")
        for line in range(12):
            page.insert_text((72, 110 + 18 * line), f"{body} (page {number}, line {line + 1})", fontsize=10)
    doc.set_metadata({"title": f"{title.title()} Report"})
    doc.save(path, **save_options)
    return path


def scanned_report(path: Path, pages: int) -> Path:
    """A scanned PDF of `pages` pictured pages: OCR takes a second or more per page."""
    page = pymupdf.open(scanned_pdf(path.with_suffix(".page.pdf"), [
        f"Paragraph {i} of a long scanned report about plate tectonics and the sea floor, set in type and "
        "photographed page by page." for i in range(30)]))
    doc = pymupdf.open()
    for _ in range(pages):
        doc.insert_pdf(page)
    doc.save(path)
    path.with_suffix(".page.pdf").unlink()
    return path
