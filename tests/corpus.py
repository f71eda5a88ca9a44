"""Generated documents with known answers: for notebook tests and `make bench-notebook`.

Each document describes one invented institution (a made-up name, so no model knows the answers) over three
pages, in sentences that every document shares word for word except for the name and the numbers, and with
sentences that name the institution without answering anything: a search has to find the one sentence that holds
the answer, among many that look alike. Each fact comes with a
question worded differently from its sentence, the page it is on and the sentence itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from pdfs import Writer

KINDS = ["observatory", "seed bank", "river station", "glacier camp", "coral laboratory", "weather station"]
SYLLABLES = "var hol ten quen dor mab lis ruk sel tam bri kov nal zen pha gor lun tev wim cas dru fel".split()
FIRST = "Ada Bruno Carla Dmitri Elena Farid Greta Hugo Ines Jonas Kiri Lena Milo Nadia Oskar Priya".split()
LAST = "Okafor Lindqvist Moreau Tanaka Novak Haddad Ferreira Kowalski Brennan Achebe Sato Ivanova".split()
NAMED = [  # sentences that name the institution but answer none of the questions: the search must look further
    "The {thing} publishes a newsletter for its members twice a season.",
    "Volunteers at the {thing} also maintain a small public garden.",
    "The {thing} hosts an open day for schools each spring.",
    "A new roof was added to the main building of the {thing} after a storm.",
    "The {thing} keeps a public library of field notebooks.",
    "Researchers from abroad often visit the {thing} for short stays.",
]
FILLER = [
    "Like many similar institutions, it was reviewed by an independent panel every few years.",
    "Its reports are published in the regional bulletin and are freely available to the public.",
    "Visitors are welcome on open days, when the staff explain their work to schools and families.",
    "The institution shares its data with partner organisations under an open licence.",
]


@dataclass
class Fact:
    question: str
    answer: str
    page: int
    sentence: str


@dataclass
class FactDocument:
    name: str  # the invented proper name, e.g. "Varholten"
    kind: str
    title: str
    pages: list[list[str]] = field(default_factory=list)  # sentences per page
    facts: list[Fact] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"{self.name.lower()}-{self.kind.replace(' ', '-')}.pdf"


def fact_documents(count: int, seed: int = 7) -> list[FactDocument]:
    """`count` documents, each with a distinct name and five facts on three pages (deterministic for a seed)."""
    rng = random.Random(seed)
    names: set[str] = set()
    docs = []
    while len(docs) < count:
        name = "".join(rng.sample(SYLLABLES, 3)).capitalize()
        if name in names:
            continue
        names.add(name)
        kind = KINDS[len(docs) % len(KINDS)]
        docs.append(_document(name, kind, rng))
    return docs


def _document(name: str, kind: str, rng: random.Random) -> FactDocument:
    year, staff = rng.randint(1890, 2015), rng.randint(12, 480)
    director = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    budget, samples = rng.randint(2, 95), rng.randint(1_000, 90_000)
    thing = f"the {name} {kind}"
    facts = [
        (1, f"The {name} {kind} was founded in {year} by a group of local volunteers.",
         f"In which year was {thing} established?", str(year)),
        (2, f"Today the {name} {kind} employs {staff} people, most of them technicians.",
         f"How many people work at {thing}?", str(staff)),
        (2, f"Since 2019 the {name} {kind} has been directed by {director}.",
         f"Who leads {thing}?", director),
        (3, f"The yearly budget of the {name} {kind} is {budget} million euros.",
         f"How much money does {thing} spend each year?", f"{budget} million euros"),
        (3, f"Over its history the {name} {kind} has archived {samples:,} samples.",
         f"How many samples has {thing} collected in total?", f"{samples:,}"),
    ]
    doc = FactDocument(name=name, kind=kind, title=f"Annual Report of the {name} {kind.title()}")
    filler, named = FILLER[:], [n.format(thing=f"{name} {kind}") for n in NAMED]
    rng.shuffle(filler)
    rng.shuffle(named)
    for page in (1, 2, 3):
        sentences = [s for p, s, _, _ in facts if p == page]
        doc.pages.append([named[2 * page - 2], sentences[0], filler[page - 1], *sentences[1:], named[2 * page - 1]])
    doc.facts = [Fact(question, answer, page, sentence) for page, sentence, question, answer in facts]
    return doc


def write_pdf(doc: FactDocument, folder: Path) -> Path:
    """The document as a three-page PDF (title, one section heading per page, flowing text)."""
    writer = Writer()
    headings = ["History", "People", "Money and collections"]
    for number, sentences in enumerate(doc.pages, start=1):
        writer.new_page()
        if number == 1:
            writer.text(doc.title, "sans-bold", 18, space_after=12)
        writer.heading(headings[number - 1], 1)
        writer.text(" ".join(sentences))
    return writer.save(folder / doc.file_name, toc=False, metadata={"title": doc.title})
