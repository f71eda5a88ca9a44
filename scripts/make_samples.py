#!/usr/bin/env python3
"""Build the sample documents in samples/ with PyMuPDF (deterministic: same bytes on every run).

  samples/tardigrades.pdf  a 7-page research-style review written for this project: title, authors, an outline
                           (TOC) of the sections while subsection headings are only in the text, a two-column
                           page, running headers and footers, page numbers, words hyphenated at line ends,
                           figures worth citing and a references section.
  samples/scanned-memo.pdf one page that is only an image (text rendered to a pixmap, then placed as a picture), so
                           extraction has to OCR it.

The small page-layout engine here (`Writer`) is also what tests/pdfs.py uses to build its test PDFs.
Usage: python scripts/make_samples.py [OUT_DIR]   (default: samples/)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

PAGE = pymupdf.paper_rect("letter")  # 612 x 792 pt
MARGIN_X, TOP, BOTTOM = 72, 72, 720
FONTS = {"body": "tiro", "bold": "tibo", "italic": "tiit", "sans": "helv", "sans-bold": "hebo"}


@dataclass
class Writer:
    """Flows paragraphs into one or two columns, page after page, hyphenating long words at line ends.

    header/footer are drawn on every page (footer gets the page number; header skips page 1 when `header_from` is 2).
    Headings are recorded so `save` can write them as the PDF outline when `toc=True`.
    """

    header: str = ""
    footer: str = ""
    header_from: int = 1
    doc: pymupdf.Document = field(default_factory=pymupdf.open)
    toc: list[list] = field(default_factory=list)
    frames: list[pymupdf.Rect] = field(default_factory=list)
    y: float = 0.0
    hyphenate: bool = True

    def new_page(self, columns: int = 1) -> None:
        page = self.doc.new_page(width=PAGE.width, height=PAGE.height)
        number = self.doc.page_count
        if self.header and number >= self.header_from:
            page.insert_text((MARGIN_X, 44), self.header, fontname=FONTS["italic"], fontsize=8.5)
        if self.footer:
            page.insert_text((MARGIN_X, 760), self.footer, fontname=FONTS["sans"], fontsize=8)
        page.insert_text((PAGE.width - MARGIN_X - 12, 760), str(number), fontname=FONTS["sans"], fontsize=9)
        self.columns(columns, TOP)

    def columns(self, columns: int, top: float | None = None) -> None:
        """Flow the following text in 1 or 2 columns, from `top` (default: below what is already on the page)."""
        top = self.y + 4 if top is None else top
        width = PAGE.width - 2 * MARGIN_X
        if columns == 1:
            self.frames = [pymupdf.Rect(MARGIN_X, top, MARGIN_X + width, BOTTOM)]
        else:
            col = (width - 18) / 2
            self.frames = [pymupdf.Rect(MARGIN_X, top, MARGIN_X + col, BOTTOM),
                           pymupdf.Rect(MARGIN_X + col + 18, top, MARGIN_X + width, BOTTOM)]
        self.y = top
        self._columns = columns

    @property
    def page(self) -> pymupdf.Page:
        return self.doc[-1]

    def _next_frame(self) -> None:
        self.frames.pop(0)
        if not self.frames:
            self.new_page(self._columns)
        self.y = self.frames[0].y0

    def text(self, text: str, font: str = "body", size: float = 11.5, space_after: float = 7, indent: float = 0,
             keep_with_next: bool = False) -> None:
        """One paragraph, wrapped to the current frame, continuing into the next frame/page when full."""
        if not self.frames:
            self.new_page()
        leading = size * 1.32
        if keep_with_next and self.y + 4 * leading > self.frames[0].y1:
            self._next_frame()
        frame = self.frames[0]
        for line in self._wrap(text, FONTS[font], size, frame.width - indent):
            if self.y + leading > self.frames[0].y1:
                self._next_frame()
            frame = self.frames[0]
            self.page.insert_text((frame.x0 + indent, self.y + size), line, fontname=FONTS[font], fontsize=size)
            self.y += leading
        self.y += space_after

    def heading(self, text: str, level: int = 1) -> None:
        size = {1: 13.0, 2: 11.0}.get(level, 10.5)
        self.y += 6 if level == 1 else 2
        self.text(text, "sans-bold", size, space_after=5, keep_with_next=True)
        self.toc.append([level, text, self.doc.page_count])

    def _wrap(self, text: str, font: str, size: float, width: float) -> list[str]:
        measure = lambda s: pymupdf.get_text_length(s, fontname=font, fontsize=size)  # noqa: E731
        lines, line = [], ""
        for word in text.split():
            candidate = f"{line} {word}" if line else word
            if measure(candidate) <= width:
                line = candidate
                continue
            head, tail = self._split_word(word, lambda part: measure(f"{line} {part}" if line else part) <= width)
            if head:
                lines.append(f"{line} {head}" if line else head)
                line = tail
            else:
                lines.append(line)
                line = word
        if line:
            lines.append(line)
        return lines

    def _split_word(self, word: str, fits) -> tuple[str, str]:
        """Break a word at a hyphen it already has, or (long plain words) hyphenate it; ("", word) if neither fits."""
        if not self.hyphenate:
            return "", word
        for i in range(len(word) - 1, 0, -1):  # an existing hyphen: "state-of-the-" + "art"
            if word[i] == "-" and fits(word[: i + 1]) and word[i + 1:]:
                return word[: i + 1], word[i + 1:]
        core = word.rstrip(".,;:)")
        if len(core) >= 8 and core.isalpha():
            for i in range(len(core) - 3, 3, -1):
                if fits(word[:i] + "-"):
                    return word[:i] + "-", word[i:]
        return "", word

    def save(self, path: str | Path, toc: bool = True, metadata: dict | None = None, **save_args) -> Path:
        if toc and self.toc:
            self.doc.set_toc(self.toc)
        if metadata:
            self.doc.set_metadata(metadata)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.doc.save(path, garbage=4, deflate=True, no_new_id=True, **save_args)
        return path


def scanned_pdf(path: str | Path, paragraphs: list[str], title: str = "", dpi: int = 110) -> Path:
    """A PDF whose only page is a grayscale picture of the text: no text layer at all, as from a scanner."""
    writer = Writer(hyphenate=False)
    writer.new_page()
    if title:
        writer.text(title, "sans-bold", 16, space_after=10)
    for para in paragraphs:
        writer.text(para, size=12)
    pixmap = writer.doc[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    out = pymupdf.open()
    page = out.new_page(width=PAGE.width, height=PAGE.height)
    page.insert_image(page.rect, stream=pixmap.tobytes("png"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, garbage=4, deflate=True, no_new_id=True)
    return path


# ------------------------------------------------------------------------------------------------ the samples

TITLE = "Surviving the Impossible: How Tardigrades Endure Drying, Freezing, Radiation and Space"
AUTHORS = "Mara Lindqvist; Tomás Okafor"

ABSTRACT = (
    "Tardigrades, the eight-legged micro-animals known as water bears, are famous for surviving conditions that kill "
    "almost every other animal. This review, written as a readable introduction for non-specialists, summarises what "
    "is known about how they do it. We describe the tun state of anhydrobiosis, in which an animal loses up to 97 "
    "percent of its body water and its metabolism falls below 0.01 percent of normal; the protective molecules that "
    "keep its cells intact, including trehalose, intrinsically disordered CAHS proteins and the DNA-shielding protein "
    "Dsup; and the limits of that tolerance, which are real and frequently exaggerated. We close with what tardigrade "
    "biology may offer medicine, vaccine storage and space exploration."
)

SECTIONS: list[tuple[int, str, list[str]]] = [
    (1, "1 Introduction", [
        "In 1773 the German pastor and naturalist Johann August Ephraim Goeze peered through a microscope at a drop of "
        "water and described a tiny, lumbering animal that he called a little water bear. Three years later the Italian "
        "biologist Lazzaro Spallanzani named the group Tardigrada, meaning slow steppers. Today more than 1,300 species "
        "are known, and they live almost everywhere: in moss and lichen on garden walls, in ocean sediments, in hot "
        "springs, on Himalayan peaks above 6,000 metres and in Antarctic soils.",
        "Most tardigrades are between 0.1 and 0.5 millimetres long, with the largest reaching about 1.2 millimetres. "
        "They have a head, four body segments and eight stubby legs ending in claws or sticky discs. Despite their "
        "size they are complex animals with a brain, a gut, muscles and, in many species, simple eyespots. What makes "
        "them extraordinary is not their anatomy but their capacity for suspended animation.",
        "Popular accounts often describe tardigrades as indestructible. That claim is wrong in an instructive way. An "
        "active, hydrated tardigrade is a fragile creature that dies within hours if its moss cushion dries too fast. "
        "Its toughness is conditional: it depends on entering a protected state in time, and it is bought with a "
        "complete halt of ordinary life. Understanding that bargain is the subject of this review.",
        "The review is organised as follows. Section 2 describes the tun state, where tardigrades live and the "
        "molecules that protect them, and Section 3 turns to radiation, pressure, vacuum and the crash of a lunar "
        "lander that carried water bears to the Moon. Section 4 explains how these animals are studied in the "
        "laboratory and why published survival limits vary so much. Section 5 corrects several popular myths, "
        "Section 6 looks at applications in medicine and space research, and Section 7 concludes with the questions "
        "that remain open. Numbers are given as reported in the studies listed at the end; where studies disagree, "
        "we give the conditions under which each figure was measured.",
    ]),
    (1, "2 The tun state: life on pause", [
        "When the film of water around a terrestrial tardigrade evaporates, the animal pulls in its legs and head and "
        "contracts into a compact, barrel-shaped form called a tun. The tun has a much smaller surface area, which slows "
        "the loss of water and gives the cells time to prepare. Over the following hours the animal loses up to 97 "
        "percent of its body water. Its metabolism falls below 0.01 percent of the normal rate, a level so low that for "
        "many years it could not be distinguished from zero.",
        "This state is called anhydrobiosis, literally life without water. It is not death and it is not sleep. A tun "
        "placed back in water usually rehydrates and starts walking within minutes to a few hours, depending on how long "
        "it was dry. Survival falls with the length of the dry period: most laboratory studies report good recovery "
        "after months and much poorer recovery after several years.",
        "Timing matters. Experiments with the species Ramazzottius varieornatus show that animals dried slowly, over "
        "roughly a day at high humidity, survive far better than animals dried within minutes. The slow phase is when "
        "protective molecules are made and put in place. A tardigrade that cannot complete this preparation is just as "
        "vulnerable as any other small invertebrate.",
    ]),
    (2, "2.1 Where water bears live", [
        "Tardigrades are usually divided by habitat into marine, freshwater and limno-terrestrial species, the last "
        "group living in the thin films of water that cling to moss, lichen, leaf litter and soil. It is the "
        "limno-terrestrial species that have made the group famous, because their homes dry out and freeze again and "
        "again. A single cushion of moss on a roof can hold hundreds of water bears per gram of dry moss, together "
        "with rotifers, nematodes and protozoa that share the same habit of drying out and waiting.",
        "Marine tardigrades, by contrast, live between grains of sand and rarely face desiccation, and most of them "
        "show little tolerance for it. This contrast suggests that anhydrobiosis is not a fixed property of the whole "
        "group but a capacity that has been gained, strengthened or lost in different lineages according to how "
        "often their surroundings dry up.",
        "Tardigrades feed mainly by piercing cells with a pair of sharp stylets and sucking out the contents. Most "
        "species eat algae, moss cells or fungi, while some are predators of rotifers, nematodes and even other "
        "tardigrades. Their life span in the active state ranges from a few months to about two years, and time spent "
        "as a tun does not count against it: a water bear that spends half its life dried out simply lives longer in "
        "calendar time, an idea sometimes called the Sleeping Beauty hypothesis.",
    ]),
    (2, "2.2 Protective molecules", [
        "Three families of molecules have been linked to survival in the tun. The first is trehalose, a sugar that many "
        "drought-tolerant organisms accumulate and that can replace water around membranes and proteins. Tardigrades, "
        "however, make surprisingly little of it: in several species trehalose reaches only about 2 percent of dry "
        "weight, far less than in brine shrimp cysts. It is therefore unlikely to be the main explanation.",
        "The second family consists of tardigrade-specific intrinsically disordered proteins. In 2017 Thomas Boothby "
        "and colleagues reported that cytoplasmic abundant heat soluble proteins, known as CAHS proteins, are strongly "
        "induced during drying and that they form a glass-like solid as water disappears. This vitrification traps "
        "other proteins in place and stops them from unfolding and clumping. When the genes for these proteins were "
        "silenced, survival after drying fell sharply. When the proteins were produced in yeast and bacteria, those "
        "cells became more tolerant of desiccation.",
        "The third is a protein named Dsup, short for damage suppressor, found in Ramazzottius varieornatus by Takekazu "
        "Hashimoto and colleagues in 2016. Dsup binds to chromatin, the packaged form of DNA, and appears to shield it "
        "from hydroxyl radicals. Human cultured cells engineered to make Dsup showed about 40 percent less X-ray-induced "
        "DNA damage than ordinary cells.",
    ]),
    (2, "2.3 Cold and heat", [
        "Tardigrades tolerate cold remarkably well, even when hydrated. In 2016 researchers at the National Institute "
        "of Polar Research in Japan revived two tardigrades from a moss sample collected in Antarctica in 1983 and "
        "stored at minus 20 degrees Celsius for 30.5 years. One of them went on to lay eggs that hatched. Tuns exposed "
        "for short periods in the laboratory have survived minus 196 degrees, the temperature of liquid nitrogen, and "
        "a few have survived a few minutes at minus 272 degrees, just one degree above absolute zero.",
        "Heat is a different story. Dried tuns can survive brief exposures of up to about 150 degrees Celsius, but "
        "long exposures are lethal at much lower temperatures. A 2020 study of Ramazzottius varieornatus found that "
        "half of the active, hydrated animals died after 24 hours at just 37.1 degrees Celsius, and even tuns lost half "
        "their number after a day at 63.1 degrees. Warming climates may matter more to water bears than the extreme "
        "laboratory records suggest.",
    ]),
]

TWO_COLUMN = [
    (1, "3 Radiation, pressure and vacuum", [
        "Ionising radiation destroys living tissue chiefly by breaking DNA. A dose of about 5 grays of gamma radiation "
        "is fatal to most humans. Several tardigrade species survive doses of 5,000 grays when hydrated and even more "
        "when dried, although irradiated animals often become sterile at far lower doses. The state-of-the-art "
        "explanation combines efficient DNA repair, antioxidant enzymes and shielding proteins such as Dsup.",
        "Pressure is also tolerated. In one experiment tuns sealed in a small container survived 7,500 atmospheres, "
        "roughly seven times the pressure at the bottom of the deepest ocean trench. Because a tun is nearly dry, "
        "there is little water left to freeze, boil or be compressed, and the glassy interior resists deformation.",
        "In September 2007 the European FOTON-M3 mission carried dried tardigrades of two species into low Earth "
        "orbit. For ten days they were exposed to the vacuum of space, and some also to solar ultraviolet light. "
        "Animals protected from ultraviolet light survived the vacuum and cosmic radiation almost as well as controls "
        "on the ground. Full solar ultraviolet exposure was much harder: only a small fraction of the animals "
        "recovered, yet some of those went on to reproduce. This was the first demonstration that any animal can "
        "survive direct exposure to space.",
    ]),
    (2, "3.1 Oxygen, toxins and salt", [
        "Water bears are less impressive when it comes to lack of oxygen. Active animals deprived of oxygen swell, "
        "become motionless and usually recover only if the episode lasts less than a few days. Tuns do much better, "
        "because their metabolism is already close to zero. Dried animals also tolerate organic solvents such as "
        "ethanol and some poisons better than hydrated ones, simply because the chemicals cannot reach molecules that "
        "are locked in a glassy matrix.",
        "Changes in salt concentration trigger a related response. In strong salt solutions some limno-terrestrial "
        "species form a tun-like state called osmobiosis, and in cold conditions they may form cysts or enter "
        "cryobiosis. Together these states show that the tun is one member of a family of shutdown strategies, each "
        "triggered by a different threat but relying on the same ability to stop and later restart metabolism.",
    ]),
    (2, "3.2 The lunar crash", [
        "In April 2019 the Israeli lander Beresheet crashed on the Moon carrying, among other cargo, thousands of "
        "dehydrated tardigrades. Whether any survived could not be checked, so in 2021 Alejandra Traspas and Mark "
        "Burchell fired tuns from a light-gas gun into sand targets. The animals survived impacts up to about 900 "
        "metres per second, corresponding to a shock pressure of 1.14 gigapascals, but none survived faster shots. "
        "Beresheet probably hit the surface at several hundred metres per second, yet the shock of a hard landing "
        "on rock would have exceeded that limit. The water bears on the Moon are almost certainly dead, and in any "
        "case they could not have revived without liquid water.",
    ]),
]

LATER = [
    (1, "4 How water bears are studied", [
        "Most of what is known comes from a handful of species that can be kept in the laboratory. Hypsibius "
        "exemplaris, sold commercially and easy to culture on algae, has become the standard model, even though it is "
        "only moderately tolerant of drying and must be preconditioned at high humidity before it survives. "
        "Ramazzottius varieornatus, collected from moss on concrete in Japan, dries quickly and survives well, which "
        "makes it the preferred species for studies of extreme tolerance.",
        "A typical desiccation experiment places animals on filter paper in a chamber at a controlled relative "
        "humidity, often 85 percent for a day followed by 30 percent, then rehydrates them and counts how many walk "
        "normally after 24 hours. Survival is therefore reported as a fraction of animals that recover coordinated "
        "movement, a practical definition that hides a great deal of damage: recovered animals may lay fewer eggs or "
        "die sooner than controls.",
        "The genomes of both model species were sequenced in 2016 and 2017. Comparisons between them showed that "
        "many of the genes thought to protect tardigrades are shared, but that the strongly tolerant Ramazzottius "
        "keeps several protective genes switched on all the time, while Hypsibius needs hours to switch them on. "
        "Newer methods, including RNA interference to silence genes and, since 2023, gene editing with CRISPR in "
        "tardigrade embryos, now allow researchers to test what each gene contributes instead of inferring it.",
        "Measuring the limits of survival is harder than it sounds. Laboratories differ in how fast they dry animals, "
        "how long they keep them dry, how they rehydrate them and what they count as survival. Two studies of the same "
        "species can therefore report very different heat or radiation limits, and headline numbers should always be "
        "read together with the conditions under which they were measured.",
    ]),
    (1, "5 Myths and limits", [
        "Three claims are repeated so often that they deserve correction. The first is that tardigrades can be revived "
        "after 120 years in a museum specimen of dried moss. The original 1948 report described a leg twitching, not "
        "an animal walking, and no one has reproduced it. The longest well-documented revival after drying is under "
        "ten years, and after freezing it is the 30.5 years noted above.",
        "The second is that tardigrades are extremophiles. They are better described as extremotolerant: they endure "
        "extremes in a dormant state but do not thrive or reproduce in them. An active water bear prefers the same mild, "
        "damp conditions as the moss it lives in. The third is that tardigrades stole a large share of their genes "
        "from bacteria. An early genome analysis suggested about 17 percent foreign genes, but this was traced to "
        "contamination of the samples, and later estimates put horizontal gene transfer at around 1 to 2 percent, "
        "comparable to other animals.",
        "The real limits are informative. Tuns die if they are dried too fast, if they are kept warm for long periods, "
        "or if they are left dry for many years. Their defences are layered and costly, which suggests they evolved "
        "for the ordinary hardships of moss and soil - repeated drying and freezing - and that survival in space is a "
        "side effect rather than an adaptation.",
    ]),
    (1, "6 Applications", [
        "Tardigrade biology has practical promise. Many vaccines and biological medicines must be kept cold from "
        "factory to patient, a requirement known as the cold chain, which is expensive and fails often in hot regions "
        "without reliable electricity. In 2022 a team led by Thomas Boothby showed that CAHS proteins and a related "
        "protein could keep a blood-clotting factor used to treat haemophilia stable without refrigeration, through "
        "repeated drying and rehydration and at temperatures up to about 95 degrees Celsius.",
        "Dsup has attracted interest for protecting cells during radiotherapy and for shielding astronauts on long "
        "missions, although both ideas are at an early stage. Dsup expressed in tobacco plants reduced DNA damage from "
        "mutagenic chemicals, and experiments in mice have explored delivering its messenger RNA to protect healthy "
        "tissue near a tumour. Caution is warranted: human cells making Dsup also grew more slowly, and the protein "
        "may interfere with the normal reading of genes.",
        "Finally, tardigrades are a convenient model for astrobiology. They show that complex animal life can pause "
        "completely and resume, which widens the range of conditions in which we might look for life elsewhere, and "
        "they are a useful test passenger for experiments on how biological material could be moved between worlds.",
    ]),
    (1, "7 Conclusion", [
        "Tardigrades are not indestructible, but they have found a remarkable way to postpone death. By drying in a "
        "controlled way, building a glass of disordered proteins, shielding their DNA and repairing what damage "
        "remains, they can wait out conditions that would kill any active animal. The most useful lessons from water "
        "bears may therefore come not from their records in space but from the everyday chemistry that keeps a dried "
        "cell intact, chemistry that could one day keep medicines stable anywhere in the world.",
        "Many questions remain open. We do not know how a tun senses that drying has begun, how the different "
        "protective proteins divide the work between them, or why tolerance varies so much between closely related "
        "species. Each of these questions can now be studied gene by gene, and the answers are likely to tell us as "
        "much about the physics of dry cells as about the biology of one small and patient animal.",
    ]),
]

REFERENCES = [
    "[1] Boothby TC, Tapia H, Brozena AH, et al. Tardigrades use intrinsically disordered proteins to survive "
    "desiccation. Molecular Cell 65(6):975-984, 2017.",
    "[2] Hashimoto T, Horikawa DD, Saito Y, et al. Extremotolerant tardigrade genome and improved radiotolerance of "
    "human cultured cells by tardigrade-unique protein. Nature Communications 7:12808, 2016.",
    "[3] Jönsson KI, Rabbow E, Schill RO, Harms-Ringdahl M, Rettberg P. Tardigrades survive exposure to space in low "
    "Earth orbit. Current Biology 18(17):R729-R731, 2008.",
    "[4] Tsujimoto M, Imura S, Kanda H. Recovery and reproduction of an Antarctic tardigrade retrieved from a moss "
    "sample frozen for over 30 years. Cryobiology 72(1):78-81, 2016.",
    "[5] Traspas A, Burchell MJ. Tardigrade survival limits in high-speed impacts: implications for panspermia and "
    "collection of samples from plumes emitted by ice worlds. Astrobiology 21(7):845-852, 2021.",
    "[6] Neves RC, Hvidepil LKB, Sørensen-Hygum TL, Stuart RM, Møbjerg N. Thermotolerance experiments on active and "
    "desiccated states of Ramazzottius varieornatus emphasize that tardigrades are sensitive to high temperatures. "
    "Scientific Reports 10:94, 2020.",
    "[7] Packebush MH, Sanchez-Martinez S, Biswas S, et al. Natural and engineered mediators of desiccation tolerance "
    "stabilize human blood clotting factor VIII in a dry state. Scientific Reports 13:4542, 2023.",
    "[8] Koutsovoulos G, Kumar S, Laetsch DR, et al. No evidence for extensive horizontal gene transfer in the genome "
    "of the tardigrade Hypsibius dujardini. PNAS 113(18):5053-5058, 2016.",
]

MEMO = [
    "Field note, 14 March. Moss cushions were collected from the north wall of the old library at 9:30 in the "
    "morning after six dry days. Each cushion was soaked in spring water for three hours before counting.",
    "We counted 42 tardigrades in sample A and 17 in sample B. Most animals were walking within forty minutes; "
    "eleven tuns did not recover and were recorded as dead. The water temperature stayed at 18 degrees Celsius.",
    "Next step: repeat the count after the cushions have been kept dry for thirty days, to see how recovery "
    "falls with time.",
]


def make_paper(path: Path) -> Path:
    writer = Writer(header="Lindqvist & Okafor - Surviving the Impossible - Notebook Sample Series 1 (2026)",
                    footer="notebooklm_clone sample - CC0",
                    header_from=2)
    writer.new_page()
    writer.text(TITLE, "sans-bold", 19, space_after=10)
    writer.text("Mara Lindqvist and Tomás Okafor", "italic", 11, space_after=2)
    writer.text("Notebook Sample Series, Institute for Readable Science", "italic", 9.5, space_after=14)
    writer.text("Abstract", "bold", 10.5, space_after=3)
    writer.text(ABSTRACT, size=10, space_after=12, indent=12)
    for level, heading, paragraphs in SECTIONS:
        writer.heading(heading, level)
        for para in paragraphs:
            writer.text(para)
    writer.columns(2)
    for level, heading, paragraphs in TWO_COLUMN:
        writer.heading(heading, level)
        for para in paragraphs:
            writer.text(para, size=10.5)
    writer.new_page()
    for level, heading, paragraphs in LATER:
        writer.heading(heading, level)
        for para in paragraphs:
            writer.text(para)
    writer.heading("References", 1)
    for ref in REFERENCES:
        writer.text(ref, size=9, space_after=4)
    writer.toc = [entry for entry in writer.toc if entry[0] == 1]  # the outline lists sections, not subsections
    return writer.save(path, metadata={"title": TITLE, "author": AUTHORS, "subject": "Tardigrade survival",
                                       "creator": "scripts/make_samples.py", "producer": "PyMuPDF",
                                       "creationDate": "D:20260101000000Z", "modDate": "D:20260101000000Z"})


def main(out_dir: str = "samples") -> None:
    out = Path(out_dir)
    for path in (make_paper(out / "tardigrades.pdf"),
                 scanned_pdf(out / "scanned-memo.pdf", MEMO, title="Moss sample counts")):
        print(f"{path}: {path.stat().st_size:,} bytes, {pymupdf.open(path).page_count} pages")


if __name__ == "__main__":
    main(*sys.argv[1:2])
