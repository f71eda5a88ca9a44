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


# Scans of text we know: rasterised to image-only pages (no text layer), as from a scanner

FRENCH = [
    "À côté de l'alcôve, près de l'âtre, la bûcheronne épuisée rêvait d'un été sans pluie. Elle avait traversé la "
    "forêt à pied, chargée de fagots, et son souffle était encore très court.",
    "Le garçon, déçu, répéta qu'il préférait la crème brûlée au gâteau de maïs. Sa cousine aînée haussa les épaules et "
    "lui rappela que la fête du château commençait à huit heures précises.",
    "Où étiez-vous donc hier soir ? Nous avons attendu longtemps devant l'église, puis nous sommes rentrés "
    "à l'hôtel, fatigués mais ravis de notre journée à la plage.",
]
COLUMN_LEFT = [
    "Alpha opens the left column with a sentence about mountain glaciers and the melt water they release each spring.",
    "Bravo continues the left column: the rivers fed by that water carry fine silt far down to the plains below.",
]
COLUMN_RIGHT = [
    "Charlie opens the right column with a sentence about coastal marshes and the birds that rest there in autumn.",
    "Delta ends the right column: the marsh grasses trap the silt and slowly build new land at the river mouth.",
]
ROTATED = ["The rotated page was scanned sideways by a hurried clerk, yet every word on it must still be read in "
           "the right order, from the first line to the last."]


def rasterise(source: pymupdf.Document, path: Path, dpi: int = 200, rotate: int = 0, skew: float = 0.0) -> Path:
    """Each page of `source` as a grayscale picture only (no text layer), turned by `rotate` degrees (a multiple of
    90: the sheet went through the scanner sideways) and tilted by `skew` degrees (it went through a little askew)."""
    out = pymupdf.open()
    for page in source:
        matrix = pymupdf.Matrix(dpi / 72, dpi / 72).prerotate(rotate + skew)
        pixmap = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, alpha=False)
        width, height = pixmap.width * 72 / dpi, pixmap.height * 72 / dpi
        if skew:  # the corners a tilted render leaves black would be a black frame no scanner makes
            pixmap = _white_corners(page, matrix, dpi)
        target = out.new_page(width=width, height=height)
        target.insert_image(target.rect, stream=pixmap.tobytes("png"))
    out.save(path, garbage=4, deflate=True)
    return path


def _white_corners(page: pymupdf.Page, matrix: pymupdf.Matrix, dpi: int) -> pymupdf.Pixmap:
    """A tilted render on a white ground: the page drawn onto a white copy of itself with a white background."""
    sheet = pymupdf.open()
    copy = sheet.new_page(width=page.rect.width + 200, height=page.rect.height + 200)
    copy.draw_rect(copy.rect, color=None, fill=(1, 1, 1))
    copy.show_pdf_page(pymupdf.Rect(100, 100, 100 + page.rect.width, 100 + page.rect.height), page.parent, page.number)
    pixmap = copy.get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, alpha=False)
    return pixmap


def french_scan_pdf(path: Path) -> Path:
    """One scanned page of French prose full of accents (FRENCH), under a heading."""
    writer = Writer(hyphenate=False)
    writer.new_page()
    writer.text("Souvenirs de l'été", "sans-bold", 16, space_after=10)
    for para in FRENCH:
        writer.text(para, size=12)
    return rasterise(writer.doc, path)


def two_column_scan_pdf(path: Path) -> Path:
    """One scanned page: a full-width title, then COLUMN_LEFT and COLUMN_RIGHT side by side."""
    writer = Writer(hyphenate=False)
    writer.new_page()
    writer.text("Water on the Move", "sans-bold", 16, space_after=10)
    writer.columns(2)
    for para in COLUMN_LEFT:
        writer.text(para, size=12)
    writer._next_frame()
    for para in COLUMN_RIGHT:
        writer.text(para, size=12)
    return rasterise(writer.doc, path)


def three_column_scan_pdf(path: Path, columns: list[str]) -> Path:
    """One scanned page with three columns of text, each paragraph of `columns` in its own column."""
    doc = pymupdf.open()
    page = doc.new_page()
    width = (612 - 2 * 54 - 2 * 18) / 3
    for i, text in enumerate(columns):
        x0 = 54 + i * (width + 18)
        page.insert_textbox(pymupdf.Rect(x0, 90, x0 + width, 600), text, fontname="tiro", fontsize=12)
    return rasterise(doc, path)


def rotated_scan_pdf(path: Path, rotate: int = 90, skew: float = 0.0) -> Path:
    """ROTATED scanned sideways (`rotate` degrees) or askew (`skew` degrees), under a heading."""
    writer = Writer(hyphenate=False)
    writer.new_page()
    writer.text("A Sideways Page", "sans-bold", 16, space_after=10)
    for para in ROTATED:
        writer.text(para, size=12)
    return rasterise(writer.doc, path, rotate=rotate, skew=skew)


ANNOTATED = ["Glaciers store most of the fresh water on the planet and release it slowly in summer.",
             "The melt season has started two weeks earlier on average since the records began in 1950.",
             "Rivers fed by glaciers carry fine silt that colours the water a milky green."]
HIGHLIGHTED = ANNOTATED[1]
READER_NOTE = "Surely exaggerated, ask the professor about permafrost"
STICKY_NOTE = "Remember to compare with alpine lakes"


def annotated_pdf(path: Path) -> Path:
    """A page of ANNOTATED paragraphs that a student marked: HIGHLIGHTED highlighted (with a comment), a FreeText
    box with READER_NOTE drawn on the page, and a sticky note with STICKY_NOTE."""
    doc = pymupdf.open()
    page = doc.new_page()
    y = 100
    for para in ANNOTATED:
        page.insert_textbox(pymupdf.Rect(72, y, 540, y + 40), para, fontname="tiro", fontsize=11)
        y += 50
    page.add_highlight_annot(page.search_for(HIGHLIGHTED)).set_info(content="exam!")
    page.add_freetext_annot(pymupdf.Rect(72, 300, 400, 340), READER_NOTE, fontsize=11)
    page.add_text_annot((560, 100), STICKY_NOTE)
    for annot in page.annots():
        annot.update()
    doc.save(path)
    return path


def ocr_layer_pdf(path: Path, layer: str) -> Path:
    """A scan of ROTATED (image only) with `layer` laid over it as invisible text, as an earlier OCR leaves it."""
    writer = Writer(hyphenate=False)
    writer.new_page()
    for para in ROTATED:
        writer.text(para, size=12)
    scan = pymupdf.open(rasterise(writer.doc, path.with_suffix(".scan.pdf")))
    scan[0].insert_textbox(pymupdf.Rect(72, 72, 540, 300), layer, fontname="tiro", fontsize=12, render_mode=3)
    scan.save(path)
    return path


CHINESE = "水熊虫是一种非常小的动物。它们可以在极端的环境中生存，例如太空、高温和低温。科学家研究它们如何在干燥时保护自己的细胞。"
JAPANESE = "クマムシはとても小さな動物です。彼らは宇宙や高温などの極端な環境でも生き残ることができます。科学者たちはその仕組みを研究しています。"


def cjk_scan_pdf(path: Path, text: str, font: str) -> Path:
    """One scanned page of Chinese (font "china-s") or Japanese ("japan") text, PyMuPDF's built-in CJK fonts."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 540, 400), text, fontname=font, fontsize=16)
    return rasterise(doc, path)
