"""Script turns as a TTS engine will read them: cleaned of everything it would read aloud by mistake (citations,
stage directions, markdown, emojis, "Host:" labels), split when too long, greetings and restated sentences dropped;
and the one validation of a whole script, used by the script stage, `speak` and the podcast stage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import ValidationError

from ..errors import BadInput
from ..models import Script, Speaker, Turn
from ..text.citations import strip_citation_marks
from ..text.sentences import split_sentences
from ..text.split import CJK_CHARACTER, count_words, split_for_speech

_BRACKETED = re.compile(r"\[[^\]]*\]|\*[^*\n]{1,40}\*(?=\s|$)|\((?:laughs?|chuckles?|pause|sighs?|music[^)]*|"
                        r"applause|intro|outro)[^)]*\)", re.IGNORECASE)
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")
# markdown marks; not "~5", "p > 0.05" or "x_i", which speech normalisation reads out
_MARKUP = re.compile(r"[*#`|\u2022\u25aa\u25cf\u25e6\u2023\u2043]+|(?<!\w)_+|_+(?!\w)|~(?!\s?\d)|(?:^|(?<=\n))\s*>+|>(?!\s?=?\s?[\d.])")
URL = re.compile(r"https?://\S+|\bwww\.\S+")
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}|[a-h]|[ivx]{1,4})[.)]\s+(?=[A-Z])")  # "2. Each variable ...": a list's number
# what a stripped citation leaves ("(e.g., [11])" -> "(e.g.,)"); a footnote mark glued to a percentage ("17.0%5") is
# one of the marks strip_citation_marks takes out
_EMPTIED = re.compile(r"\s*\((?:\s*(?:e\.g\.|i\.e\.|cf\.|see|and|or))?[\s,;.]*\)")
_GLUED_WORD_MARK = re.compile(r"\b([a-z]{4,})\d(?=[\s.,;:)]|$)")  # "patches4", "normalization3": a footnote mark
# "(MacMillan, 2011)", "(Smith et al., 2020; Lee, 2019)": a listener needs the claim, not the reference list
_AUTHOR_YEAR = re.compile(r"\s*\((?:(?:see|e\.g\.,?|cf\.)\s+)?(?:[A-Z][^()\d]{0,60}?,?\s+(?:1[89]|20)\d{2}[a-z]?"
                          r"(?:,\s*p+\.\s*\d+(?:-\d+)?)?(?:;\s*|\)))+")


def speakable_turn_text(text: str, speakers: list[Speaker]) -> str:
    """Only the words to be spoken: no citations, stage directions, markdown, emojis or "Name:" labels."""
    text = strip_citation_marks(text)
    text = _AUTHOR_YEAR.sub("", text)
    text = _BRACKETED.sub(" ", text)
    text = _EMOJI.sub("", text)
    text = URL.sub("", text)
    text = _EMPTIED.sub("", _GLUED_WORD_MARK.sub(r"\1", text))
    text = _ENUMERATOR.sub("", _MARKUP.sub("", text))
    labels = {s.id.lower() for s in speakers} | {s.name.lower() for s in speakers} | {"host", "narrator", "speaker"}
    while True:
        match = re.match(r"\s*([\w .'-]{1,30}?)\s*:\s+", text)
        if not match or match.group(1).strip().lower() not in labels:
            break
        text = text[match.end():]
    if labels:  # "... right? Sam: Exactly." - a label after a sentence end, when the model merged two turns
        names = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))
        text = re.sub(rf"(?<=[.!?])\s+(?:{names})\s*:\s+", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    return " ".join(text.split()).strip()


def speakable(text: str | None) -> str:
    """A title or summary from the model as it may be spoken (no speaker labels to strip)."""
    return speakable_turn_text(text or "", [])


def clean_turns(turns: list[Turn], speakers: list[Speaker], max_chars: int) -> list[Turn]:
    """Valid speaker ids, no empty turns, nothing TTS would read by mistake, no turn over `max_chars`."""
    ids = {s.id for s in speakers}
    out: list[Turn] = []
    for turn in turns:
        if turn.speaker not in ids:
            continue
        text = speakable_turn_text(turn.text, speakers)
        if not re.search(r"\w", text):
            continue
        for piece in split_for_speech(text, max_chars):
            out.append(Turn(speaker=turn.speaker, text=piece, segment=turn.segment))
    return out


def words_in(turns: list[Turn]) -> int:
    return sum(count_words(t.text) for t in turns)


def _tokens(text: str) -> list[str]:
    """Words, with each Chinese/Japanese character a word of its own (they are not separated by spaces)."""
    return re.findall(CJK_CHARACTER.pattern + r"|[^\W" + CJK_CHARACTER.pattern[1:-1] + r"]+", text.lower())


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = _tokens(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


_AFTER_STOP = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


class Said:
    """What the script has already said, as 5-word shingles: the 1.5B model restates a note it has voiced before
    ("Tardigrades are eight-legged micro-animals known as water bears" in four segments), in new turns around it."""

    REPEAT_SHARE = 0.6  # a sentence with at least this share of its shingles already said is a repetition

    def __init__(self, turns: list[Turn] = ()):
        self.shingles: set[tuple[str, ...]] = set()
        self.short: set[str] = set()
        for turn in turns:
            self.add(turn.text)

    def add(self, text: str) -> None:
        for sentence in self._parts(text):
            self.shingles |= shingles(sentence)
            self.short.add(" ".join(_tokens(sentence)))

    @staticmethod
    def _parts(text: str) -> list[str]:
        """Sentences, also split after a full stop the sentence splitter keeps for an initial ("in sample B. Most
        animals ..."): the part said before must go even then."""
        return [part for sentence in split_sentences(text) for part in _AFTER_STOP.split(sentence) if part]

    def novel(self, text: str) -> str:
        """`text` without the sentences already said (a short sentence only when said word for word)."""
        kept = []
        for sentence in self._parts(text):
            own = shingles(sentence)
            if own:
                repeated = len(own & self.shingles) >= self.REPEAT_SHARE * len(own)
            else:
                repeated = " ".join(_tokens(sentence)) in self.short
            if not repeated:
                kept.append(sentence)
        return " ".join(kept) if any(re.search(r"\w", k) for k in kept) else ""


# ---------------------------------------------------------------------------------------------------------------------
# The whole script


def validate_script(script: Script, max_turn_chars: int = 500) -> Script:
    """A script TTS can read: speakers unique and declared, turns cleaned, none empty, segments in range."""
    ids = [s.id for s in script.speakers]
    if not script.speakers:
        raise BadInput("script has no speakers")
    if len(set(ids)) != len(ids):
        raise BadInput(f"script declares a speaker id twice: {ids}")
    unknown = sorted({t.speaker for t in script.turns} - set(ids))
    if unknown:
        raise BadInput(f"script turn uses undeclared speaker {unknown[0]!r} (declared: {', '.join(ids)})")
    bad = [t.segment for t in script.turns if script.segments and not 0 <= t.segment < len(script.segments)]
    if bad:
        raise BadInput(f"script turn refers to segment {bad[0]}, but there are {len(script.segments)} segments")
    turns = clean_turns(script.turns, script.speakers, max_turn_chars)
    if not turns:
        raise BadInput("script has no turns with spoken text")
    return script.model_copy(update={"turns": turns})


def load_script(path: str | Path, max_turn_chars: int = 500) -> Script:
    """A (possibly hand-edited) script.json, validated; BadInput with the first problem when it is not usable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"script not found: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path} is not valid JSON: {exc}") from None
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise BadInput(f"{path}: {where}: {first['msg']}") from None
    return validate_script(script, max_turn_chars)
