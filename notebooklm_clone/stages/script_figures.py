"""Script figures: how trustworthy and listenable a podcast script is, read from the script and its source alone.

The audit (`check`) asks of each script sentence whether the source bears it out. A script can do well there and
still be a poor listen, or mislead in ways no single sentence shows. These figures read a finished script against
the re-extracted document, without a model, so runs can be compared (bench/bench_quality.py, `check --json`):

- length against the target, how often the host asks, how long turns are, how much is said twice (5-word shingles);
- meta-talk: the paper's structure read aloud ("Section 2", "Figure 3") means nothing to a listener;
- impersonation: a speaker claiming to be an author or a researcher, or a guest nobody invited, is a claim the paper
  never makes;
- filler turns (a reaction and nothing else) and fragment turns (no sentence: "Six dry days");
- unsupported facts: sentences stating a number or enough content words that no window of up to three consecutive
  source sentences supports (`verify`);
- coverage: the share of the body's sections that some supported sentence rests on.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict

from ..models import Document, Script, ScriptFigures, SourceSentence
from ..text.sentences import split_sentences
from ..text.split import count_words
from .audit import speaker_names, without_names
from .evidence import plain_text, sentence_index
from .phrases import is_frame
from .turns import shingles
from .verify import content_stems, stem, verify

MIN_SECTION_WORDS = 80  # a section shorter than this need not be covered
MIN_FACT_STEMS = 3  # content words (beyond talk about the show) that make a sentence a claim
CANDIDATES = 8  # source windows verified per fact sentence, the ones sharing most content words first
FRAGMENT_WORDS = 3  # a turn shorter than this is no sentence ...
UNPUNCTUATED_WORDS = 5  # ... nor is a shorter one without a final stop

# sections no listener came for: shared with the script's material (stages/material.py)
NOT_BODY = re.compile(r"^\W*(?:[\dIVX]+(?:\.\d+)*\.?\s+)?(?:references|bibliography|works cited|literature cited|"
                      r"acknowledg|r[ée]f[ée]rences|bibliographie|literatur)", re.IGNORECASE)
_FINAL_STOP = re.compile(r"[.!?\u2026][\"')\]\u201d\u2019]*$")
_NUMERAL = r"(?:\d+(?:\.\d+)*|[ivx]{1,4}|one|two|three|four|five|six|seven|eight|nine|ten)"
_META_TALK = re.compile("|".join([
    rf"\b(?:sub)?(?:sections?|chapters?|appendix|appendices)\s+{_NUMERAL}\b",
    r"\b(?:fig(?:ure)?s?|tables?|tab|eq(?:uation)?s?)\.?\s*\(?\d",
    r"\bthis (?:paper|article|report|work|document|thesis|chapter) is (?:organi[sz]ed|structured|divided|laid out)",
    r"\b(?:rest|remainder) of (?:this|the) (?:paper|article|report|document|thesis|chapter)\b",
    r"\b(?:the|this) (?:next |previous |following |preceding |final |last )?(?:sub)?section\b",
]), re.IGNORECASE)
_RESEARCH_VERBS = (r"counted|measured?|found|trained?|proposed?|developed|designed|built|collected|observed|conducted|"
                   r"tested|evaluated|demonstrated|discovered|analy[sz]ed|recorded|sampled|surveyed|interviewed|"
                   r"showed|reported|introduced?")
_IMPERSONATION = re.compile("|".join([
    (r"\b(?:i'm|i am|i was|i've been)\s+(?:a|an|the|one of the)\s+(?:[\w-]+\s+){0,2}?(?:researchers?|scientists?|"
     r"professor|engineer|postdoc|students?|(?:co-?)?authors?|investigators?)\b"),
    r"\bi (?:work|worked|study|studied|do research) at\b|\bi(?:'ve| have) been (?:studying|researching|working on)\b",
    r"\bin my (?:lab|laboratory|research|study|experiments?)\b",
    (r"\bmy (?:own )?(?:work|paper|study|research|lab|laboratory|experiments?|findings|results|data|analysis|"
     r"packages?|book|thesis)\b"),
    rf"\bi (?:also\s+|then\s+|first\s+)?(?:{_RESEARCH_VERBS}|call|argue|show)\b",
    r"\bas one of the (?:co-?)?authors\b|\bas (?:a|an|the) co-?author\b|\bmy co-?authors?\b|\bwe (?:co-?)?wrote\b",
    (r"\bour (?:own )?(?:study|paper|lab|laboratory|experiments?|research|group|team|findings|results|data|analysis|"
     r"field ?work|survey|samples?|measurements|colleagues)\b"),
    rf"\bwe(?:'ve| have| had)?\s+(?:also\s+|then\s+|first\s+|actually\s+|recently\s+)?(?:{_RESEARCH_VERBS})\b",
    r"\b(?:joining|with) (?:us|me)(?: \w+){0,3}? (?:is|are)\b",
    r"\b(?:our|my) (?:special |distinguished |expert |two )?guests?\b",
    r"\b(?:thanks|thank you) (?:so much |very much )?for (?:inviting|having) me\b",
]), re.IGNORECASE)
# Talk about the show, not the paper: "Welcome to the episode on <title>", "Let's look at the tuns", "I'm excited to..."
_SIGNPOST = re.compile(
    r"^\W*(?:(?:so|now|well|great|okay|ok|alright|finally|first(?:ly)?|next|and)\W+)*"
    r"(?:welcome|hello|hi|hey|thanks|thank you|let's|let us|let me|i'm (?:so )?(?:glad|excited|thrilled|happy)"
    r"|(?:today,? )?we(?:'re| are|'ve been| have been) (?:so )?(?:excited|going to|glad|thrilled|happy|diving|exploring"
    r"|talking|discussing)|in (?:today's|this) (?:episode|segment|show))\b", re.IGNORECASE)
_THANKS_FOR_JOINING = re.compile(r"\b(?:thanks|thank you)\b[\w\s,]{0,30}?\bfor joining (?:us|me)\b", re.IGNORECASE)
# Words of a reaction: a turn of these alone tells the listener nothing ("That's fascinating!", "Great question.").
_ACKNOWLEDGEMENT_WORDS = """yes yeah yep right exactly absolutely totally definitely certainly indeed
    sure okay true correct wow fascinating interesting amazing incredible remarkable impressive wonderful great good
    nice cool wild brilliant excellent perfect fantastic astonishing surprising fair point question thanks thank love
    agree really sense makes mind blowing huh hmm well glad happy thing"""
_ACKNOWLEDGEMENTS = {stem(w) for w in _ACKNOWLEDGEMENT_WORDS.split()}
# Words about the show itself: "Welcome back to the show, today we dive into..." states nothing about the paper.
_SHOW_WORDS = """show episode podcast listener listeners audience welcome thanks thank join joining guest
    host today dive diving talk talking discuss discussing conversation everyone folks back segment explore exploring
    chat tune"""
_SHOW = {stem(w) for w in _SHOW_WORDS.split()}


def script_figures(script: Script, document: Document, target_words: int | None = None) -> ScriptFigures:
    """All figures of one script against its source document (see the module docstring)."""
    language = script.language
    names = speaker_names(script)
    host = script.speakers[0].id if script.speakers else ""
    turn_words = [count_words(t.text) for t in script.turns]
    sentences = [(turn, s) for turn in script.turns for s in split_sentences(turn.text)]
    host_turns = [t for t in script.turns if t.speaker == host]
    segments = [t.segment for t in script.turns]

    source = _Source(document, language)
    facts, unsupported, touched, claims = 0, [], set(), []
    for turn, sentence in sentences:
        said = without_names(sentence, names)
        if not states_fact(said, language, names, host=turn.speaker == host):
            continue
        facts += 1
        claims.append(sentence)
        anchor = source.support(said, language)
        if anchor is None:
            unsupported.append(sentence)
        else:
            touched.add(top_section(anchor.section))

    sections = list(body_sections(source.index))
    words = script.word_count()
    return ScriptFigures(
        target_words=target_words, words=words, ratio=round(words / target_words, 3) if target_words else None,
        host_question_share=_share(sum(any(_is_question(s) for s in split_sentences(t.text)) for t in host_turns),
                                   len(host_turns)),
        median_turn_words=float(statistics.median(turn_words)) if turn_words else 0.0,
        max_turn_words=max(turn_words, default=0),
        repeated_share=repeated_share(claims),
        meta_talk=[s for _, s in sentences if is_meta_talk(s)],
        impersonation=[s for turn, s in sentences
                       if is_impersonation(s, mid_show=min(segments) < turn.segment < max(segments))],
        filler_turns=sum(is_filler(t.text, language, names) for t in script.turns),
        fragment_turns=sum(is_fragment(t.text) for t in script.turns),
        fact_sentences=facts, unsupported=unsupported, unsupported_share=_share(len(unsupported), max(1, facts)),
        sections=len(sections), coverage=_share(len(touched & set(sections)), len(sections)) if sections else None,
        sections_missed=[title for title in sections if title not in touched],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------------
# Sections: shared with bench/bench_quality.py, whose notes coverage counts the same sections


def top_section(section: list[str]) -> str:
    """The top-level section a sentence sits in; text before the first heading is the "Overview"."""
    return section[0] if section else "Overview"


def body_sections(index: list[SourceSentence]) -> dict[str, int]:
    """Top-level sections of the body with their words, in reading order: those of MIN_SECTION_WORDS or more (a short
    one need not be covered), references and acknowledgements left out (no listener came for them)."""
    words: Counter[str] = Counter()
    for sentence in index:
        if sentence.clean and sentence.block_kind != "heading":
            words[top_section(sentence.section)] += len(sentence.text.split())
    return {title: n for title, n in words.items() if n >= MIN_SECTION_WORDS and not NOT_BODY.search(title)}


# ---------------------------------------------------------------------------------------------------------------------
# Sentences and turns


def states_fact(sentence: str, language: str = "en", names: set[str] | frozenset[str] = frozenset(),
                host: bool = True) -> bool:
    """A claim the source should bear out: no question, no talk about the show ("Welcome to...", "Let's turn to...",
    or, said by the host, a line of the show's frame), and a number or MIN_FACT_STEMS content words that are not
    about the show, its speakers or a reaction."""
    if _is_question(sentence) or _SIGNPOST.search(_plain_quotes(sentence)) or (host and is_frame(sentence)):
        return False
    own = _SHOW | _ACKNOWLEDGEMENTS | {stem(n) for n in names}
    stems = [s for s in content_stems(sentence, language) if s not in own]
    return len(stems) >= MIN_FACT_STEMS or bool(stems and re.search(r"\d", sentence))  # not a bare "42"


def is_meta_talk(sentence: str) -> bool:
    """The paper's structure or numbering read aloud ("Section 2", "Figure 3", "the rest of this paper")."""
    return bool(_META_TALK.search(_plain_quotes(sentence)))


def is_impersonation(sentence: str, mid_show: bool = False) -> bool:
    """A speaker claiming to be an author or a researcher, to have done the work, or inventing guests; "thanks for
    joining us" past the opening and before the close (`mid_show`) speaks to a guest nobody invited."""
    text = _plain_quotes(sentence)
    return bool(_IMPERSONATION.search(text) or (mid_show and _THANKS_FOR_JOINING.search(text)))


def is_filler(text: str, language: str = "en", names: set[str] | frozenset[str] = frozenset()) -> bool:
    """A turn with no number and no content word beyond a reaction or a speaker's name."""
    if re.search(r"\d", text):
        return False
    own = _ACKNOWLEDGEMENTS | {stem(n) for n in names}
    return all(s in own for s in content_stems(text, language))


def is_fragment(text: str) -> bool:
    """Too short to be a sentence, or short and never finished ("Six dry days"): TTS reads it flat and out of place."""
    words = count_words(text)
    return words < FRAGMENT_WORDS or (words < UNPUNCTUATED_WORDS and not _FINAL_STOP.search(text.strip()))


def repeated_share(sentences: list[str]) -> float:
    """Share of the 5-word shingles (per sentence) already said earlier: a small model restates. Measured over the
    sentences that state something, so the shape of two questions ("What was the name of ...") is no repetition."""
    seen: set[tuple[str, ...]] = set()
    repeated = total = 0
    for sentence in sentences:
        own = shingles(sentence)
        repeated += len(own & seen)
        total += len(own)
        seen |= own
    return _share(repeated, total)


def _is_question(sentence: str) -> bool:
    return sentence.rstrip().rstrip("\"')]\u201d\u2019").endswith("?")


def _plain_quotes(text: str) -> str:
    return text.replace("\u2019", "'")


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


class _Source:
    """The clean body sentences with their content words and an inverted index (word -> sentences), built once, so
    each fact sentence is verified against a few likely windows rather than the whole document."""

    def __init__(self, document: Document, language: str):
        self.index = sentence_index(document)
        self.sentences = [s for s in self.index if s.clean]
        self.texts = [plain_text(s.text) for s in self.sentences]
        self.units = [_units(text, language) for text in self.texts]
        self.where: dict[str, list[int]] = defaultdict(list)
        for i, units in enumerate(self.units):
            for unit in units:
                self.where[unit].append(i)

    def support(self, sentence: str, language: str) -> SourceSentence | None:
        """The middle sentence of the first window (a sentence and its neighbours) that supports `sentence`, trying
        the CANDIDATES windows sharing most content words; None when none does."""
        wanted = _units(sentence, language)
        own = Counter(i for unit in wanted for i in self.where.get(unit, ()))
        ranked = sorted((-len(wanted & set().union(*(self.units[j] for j in self._window(i)))), -count, i)
                        for i, count in own.items())
        for _, _, i in ranked[:CANDIDATES]:
            if verify(sentence, [self.texts[j] for j in self._window(i)], language).supported:
                return self.sentences[i]
        return None

    def _window(self, i: int) -> range:
        return range(max(0, i - 1), min(len(self.sentences), i + 2))


def _units(text: str, language: str) -> set[str]:
    """Content stems and numbers: what a statement and a source sentence are matched on."""
    return set(content_stems(text, language)) | set(re.findall(r"\d+(?:\.\d+)?", text))
