"""A labelled set for the faithfulness verifier, built at run time from a document's own sentences.

Each pair is (statement, evidence, label): the evidence is one body sentence; a supported statement is that sentence,
a compression of it or a light paraphrase; an unsupported one has a swapped number, a swapped name, a flipped
negation, is a claim from another section set against evidence that shares some of its words, or is a generic
textbook sentence. Seeded, so the same documents always give the same set.

It lives beside the bench, not in the package: it measures the verifier and is no part of the product. Its text
handling is deliberately its own (simple regexes), so the verifier is not graded by its own tokenizer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from notebooklm_clone.models import Document
from notebooklm_clone.text.sentences import split_sentences

SUPPORTED_KINDS = ("verbatim", "compression", "paraphrase")
UNSUPPORTED_KINDS = ("number", "entity", "negation", "moved", "generic")
PER_KIND = 12  # pairs of each kind per document at most

SYNONYMS = {
    "shows": "demonstrates", "show": "demonstrate", "showed": "demonstrated", "uses": "employs", "use": "employ",
    "used": "employed", "using": "employing", "large": "big", "small": "little", "important": "significant",
    "method": "technique", "methods": "techniques", "obtain": "get", "obtained": "achieved", "increase": "rise",
    "increases": "rises", "reduce": "decrease", "reduces": "decreases", "reduced": "decreased",
    "approximately": "about", "because": "since", "begin": "start", "began": "started", "similar": "comparable",
    "different": "distinct", "allows": "enables", "allow": "enable", "requires": "needs", "require": "need",
    "improve": "enhance", "improves": "enhances", "improved": "enhanced", "problem": "issue", "problems": "issues",
    "helps": "assists", "help": "assist", "considered": "regarded", "describes": "explains", "described": "explained",
    "main": "primary", "entire": "whole", "quickly": "rapidly", "difficult": "hard", "simple": "straightforward",
    "typically": "usually", "usually": "typically", "proposed": "suggested", "propose": "suggest",
    "evaluate": "assess", "evaluated": "assessed", "examine": "inspect", "examined": "inspected", "often": "frequently",
    "provides": "gives", "provide": "give", "contains": "holds", "contain": "hold", "important.": "significant.",
}
GENERIC = [
    "{Topic} plays an important role in many modern applications.",
    "Understanding {topic} is essential for further progress in the field.",
    "There are several different approaches to {topic}, each with its own advantages and disadvantages.",
    "{Topic} has been studied extensively by researchers over the years.",
    "In general, {topic} can be improved through careful design and thorough evaluation.",
    "Many experts agree that {topic} will become even more relevant in the future.",
]
_STOP = set("""the and for are but that this these those with from into have has had was were been being which
    their there they them then than such also other some more most many much very only over each both when where
    while what will would could should can may might must our its not all any one two three four five about after
    before between through during under using used use based given show shows shown well here thus however""".split())
_AUX = ["is", "are", "was", "were", "can", "could", "will", "would", "should", "may", "might", "has", "have", "does"]
_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z][\w-]*|[A-Z]{2,}[\w-]*|[A-Za-z]+-\d+[\w-]*|[A-Z][a-z]{2,})\b")
_NUM = re.compile(r"(?<![\w.,-])\d+(?:\.\d+)?(?![\w-]|[.,]\d)")


@dataclass(frozen=True)
class Pair:
    document: str
    kind: str
    statement: str
    evidence: str

    @property
    def supported(self) -> bool:
        return self.kind in SUPPORTED_KINDS


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-zà-ÿ]{4,}", text.lower()) if w not in _STOP}


def body_sentences(document: Document) -> list[tuple[str, str]]:
    """(section, sentence) for prose sentences: 8 to 60 words, mostly words, starting upper-case, ending a sentence."""
    found = []
    for block in document.body_blocks():
        if block.kind not in ("paragraph", "list"):
            continue
        for sentence in split_sentences(block.text):
            tokens = sentence.split()
            wordy = sum(bool(re.fullmatch(r"[(\"']?[^\W\d_][^\W\d_'’-]*[)\"',;:.!?]*", t)) for t in tokens)
            letters = sum(c.isalpha() for c in sentence)
            if (8 <= len(tokens) <= 60 and wordy >= 0.75 * len(tokens) and letters >= 0.7 * len(sentence)
                    and sentence[0].isupper() and sentence[-1] in ".!?" and "http" not in sentence
                    and "www." not in sentence):
                found.append((" / ".join(block.section[:2]) or f"page {block.page}", sentence))
    return list(dict.fromkeys(found))


def _inner_names(sentence: str) -> list[str]:
    return [m.group() for m in _NAME.finditer(sentence) if m.start() > 0 and m.group().lower() not in _STOP]


def compress(sentence: str) -> str | None:
    """The main claim: parentheticals and brackets out, a trailing or leading subordinate clause dropped."""
    out = re.sub(r"\s*[(\[][^()\[\]]{1,120}[)\]]", "", sentence)
    out = re.split(r",\s+(?:which|where|while|although|whereas|since|because|as well as|and thus)\s|;\s", out)[0]
    lead = re.match(r"(?:Although|While|Whereas|Because|Since|After|Before|However|Moreover|Furthermore|In addition|"
                    r"For example|Therefore|Thus|Finally|Here|In practice)\b[^,]{0,120},\s+(.+)", out)
    if lead:
        rest = lead.group(1)
        out = rest[0].upper() + rest[1:] if rest[1:2].islower() or rest[1:2] == " " else rest
    out = out.rstrip(" ,;:.") + "."
    if out.rstrip(".") == sentence.rstrip(".") or len(out.split()) < 5:
        return None
    return out


def paraphrase(sentence: str, rng: random.Random) -> str | None:
    """Up to two synonym swaps, and an introductory phrase moved to the end ("In 2010, X." -> "X in 2010.")."""
    tokens = sentence.split(" ")
    spots = [i for i, t in enumerate(tokens) if t.lower() in SYNONYMS]
    for i in rng.sample(spots, min(2, len(spots))):
        repl = SYNONYMS[tokens[i].lower()]
        tokens[i] = repl.capitalize() if tokens[i][0].isupper() else repl
    out = " ".join(tokens)
    intro = re.match(r"((?:In|On|At|For|During|Since|After|With|By|Across|Over) [^,]{3,60}), (.+?)([.!?])$", out)
    if intro and not intro.group(2).startswith(("we ", "this ", "these ", "it ")):
        rest = intro.group(2)
        if rest[1:2].islower() and rest[:2] not in ("I ",):
            rest = rest[0].lower() + rest[1:]
        out = f"{rest[0].upper()}{rest[1:]} {intro.group(1)[0].lower()}{intro.group(1)[1:]}{intro.group(3)}"
    return out if out != sentence else None


def swap_number(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    found = list(_NUM.finditer(sentence))
    if not found:
        return None
    match = rng.choice(found)
    value = match.group()
    others = [n for n in pool if n != value and n not in sentence]
    if others and rng.random() < 0.5:
        new = rng.choice(others)
    elif "." in value:
        new = f"{float(value) + rng.choice([-1, 1]) * rng.choice([0.1, 0.5, 1.0, 2.0]):.{len(value.split('.')[1])}f}"
    else:
        new = str(max(0, int(value) + rng.choice([-1, 1]) * rng.randint(1, max(2, int(value) // 3 + 1))))
    if new == value or re.search(rf"(?<![\d.]){re.escape(new)}(?![\d])", sentence):
        return None
    return sentence[: match.start()] + new + sentence[match.end():]


def swap_entity(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    names = _inner_names(sentence)
    lower = sentence.lower()
    others = [n for n in pool if n.lower() not in lower]
    if not names or not others:
        return None
    old, new = rng.choice(names), rng.choice(others)
    return re.sub(rf"\b{re.escape(old)}\b", new, sentence, count=1)


def flip_negation(sentence: str) -> str | None:
    removed = re.sub(r"\b(is|are|was|were|do|does|did|can|could|will|would|should|has|have|had) not\b", r"\1",
                     sentence, count=1)
    if removed == sentence:
        removed = re.sub(r"\bcannot\b", "can", sentence, count=1)
    if removed == sentence:
        removed = re.sub(r"\bnever\b", "always", sentence, count=1)
    if removed != sentence:
        return removed
    for aux in _AUX:
        match = re.search(rf"\b{aux}\b(?! not\b)", sentence)
        if match and match.start() > 0:
            repl = "cannot" if aux == "can" else f"{aux} not"
            return sentence[: match.start()] + repl + sentence[match.end():]
    return None


def generic(sentence: str, rng: random.Random) -> str | None:
    words = sorted((w for w in _words(sentence) if w.isalpha() and len(w) >= 6), key=lambda w: (-len(w), w))
    if not words:
        return None
    topic = words[0]
    return rng.choice(GENERIC).format(topic=topic, Topic=topic.capitalize())


def moved_evidence(index: int, sentences: list[tuple[str, str]]) -> str | None:
    """The sentence from another section sharing the most content words with sentence `index` (two at least), unless
    it holds most of them (then it may state the same claim and the label would be wrong)."""
    section, sentence = sentences[index]
    mine = _words(sentence)
    best, best_shared = None, 1
    for j, (other_section, other) in enumerate(sentences):
        if other_section == section or abs(j - index) < 3:
            continue
        theirs = _words(other)
        shared = len(mine & theirs)
        # another sentence that holds most of this one's words may well state the same claim: not a wrong place
        if shared > best_shared and shared / max(1, len(mine | theirs)) < 0.5 and shared < 0.6 * len(mine):
            best, best_shared = other, shared
    return best


def pairs_for(name: str, document: Document, seed: int = 0, per_kind: int = PER_KIND) -> list[Pair]:
    """Up to `per_kind` pairs of every kind from one document's body sentences."""
    rng = random.Random(f"{seed}:{name}")
    sentences = body_sentences(document)
    if not sentences:
        return []
    numbers = sorted({m.group() for _, s in sentences for m in _NUM.finditer(s)})
    names = sorted({n for _, s in sentences for n in _inner_names(s)})
    english = document.language == "en"
    makers = {
        "verbatim": lambda i, s: s,
        "compression": lambda i, s: compress(s),
        "paraphrase": lambda i, s: paraphrase(s, rng) if english else None,
        "number": lambda i, s: swap_number(s, numbers, rng),
        "entity": lambda i, s: swap_entity(s, names, rng),
        "negation": lambda i, s: flip_negation(s) if english else None,
        "moved": lambda i, s: None,
        "generic": lambda i, s: generic(s, rng) if english else None,
    }
    pairs = []
    for kind, make in makers.items():
        order = list(range(len(sentences)))
        rng.shuffle(order)
        made = 0
        for i in order:
            if made >= per_kind:
                break
            evidence = sentences[i][1]
            if kind == "moved":
                other = moved_evidence(i, sentences)
                statement, evidence = (compress(evidence) or evidence, other) if other else (None, evidence)
            else:
                statement = make(i, evidence)
            if statement:
                pairs.append(Pair(name, kind, statement, evidence))
                made += 1
    return pairs
