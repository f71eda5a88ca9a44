"""What an answer is about, so the host can ask for it by name ("What about virtual worlds?") when the model's question
does not fit the answer: a question naming the answer's subject leads into it, where "What comes next?" says nothing.

The focus is a word or two-word phrase of the answer's first sentence, in the answer's own words (nothing invented),
that the document uses as a noun (between an article or preposition and a function word or a mark, or as a name) and more
than once (a pair between an article and a mark, "a tun state.", once is enough), that the host has not asked about
yet, and that is not in the document's title nor a show word. New to the listener beats heard before; then a phrase
beats a word; then the more frequent in the document; then the earlier in the answer. When no word qualifies (a short
document shows few nouns), the word the answer opens with, if a function word follows it ("Revival takes minutes to
hours.").
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict

from .citations import comparable_text
from .themes import GENERIC
from .verify import content_words, stem, stopwords

VAGUE_SHARE = 0.7  # of a word's uses after a modifier, for it to be no subject on its own
MIN_USES = 1  # in the document (the answer's own sentence counts): frequency only ranks
# articles and determiners a noun follows; the definite ones are kept in the host's question where the document
# puts them ("What about the tun?"); "l" is the French article before a vowel ("l'eau")
DETERMINERS = {
    "en": {"the": "the", "a": "", "an": "", "this": "the", "these": "the", "those": "the", "its": "the",
           "their": "the", "our": "the", "each": "", "every": "", "such": "", "some": "", "any": "", "no": ""},
    "fr": {"le": "le", "la": "la", "les": "les", "l": "l'", "un": "", "une": "", "des": "les", "du": "le",
           "ce": "le", "cet": "le", "cette": "la", "ces": "les", "leur": "", "leurs": ""},
    "de": {w: "" for w in "der die das den dem des ein eine einen einem einer eines dieser diese dieses".split()},
    "es": {"el": "el", "la": "la", "los": "los", "las": "las", "un": "", "una": "", "unos": "", "unas": "",
           "este": "el", "esta": "la", "estos": "los", "estas": "las"},
    "it": {"il": "il", "lo": "lo", "la": "la", "i": "i", "gli": "gli", "le": "le", "l": "l'", "un": "", "uno": "",
           "una": "", "questo": "il", "questa": "la"},
    "pt": {"o": "o", "a": "a", "os": "os", "as": "as", "um": "", "uma": "", "este": "o", "esta": "a"},
}
# a capital after a lower-case word (and never written in lower case): a name
_NAMED = re.compile(r"\b[a-z][a-z]+,? ([A-Z][\w-]*[A-Za-z])\b")
_PHRASE_ENDS = set(".;:?!),")
_PRONOUNS_TOO = {"this", "these", "those", "that"}  # determiners that also stand alone
_POINTERS = {"this", "these", "those", "such"}  # a noun after one is named elsewhere
_JOINS = {"and", "or", "nor", "et", "ou", "und", "oder", "y", "o", "e"}
# a word between one of these and a function word or a mark is a noun too ("to" is left out: "the chance to fail.")
PREPOSITIONS = {
    "en": set("of in after from with for by on at into about during without between through under".split()),
    "fr": set("de du des à au aux en dans par pour sur avec sans après avant".split()),
    "de": set("von vom mit für auf aus bei nach über unter zum zur im am".split()),
    "es": set("de del en con por para sobre sin tras".split()),
    "it": set("di del della dei in con per su senza dopo".split()),
    "pt": set("de do da dos das em com por para sobre sem".split()),
}
_COUNTS = set("tens hundred hundreds thousand thousands million millions billion billions dozen dozens".split())
_IDIOMS = {("by", "means"), ("in", "terms"), ("in", "order"), ("in", "turn"), ("in", "fact"), ("in", "part"),
           ("at", "least"), ("at", "most"), ("on", "average"), ("in", "general"), ("for", "example"), ("for", "instance"), ("in", "particular"), ("by", "far"), ("so", "far"), ("of", "course"),
           ("in", "addition"), ("in", "contrast"), ("in", "practice"), ("in", "principle"), ("en", "effet")}
# a noun mostly followed by "of" relates other nouns ("the number of", "a pair of", "the use of"): no subject itself
RELATIONAL_BEFORE = {"en": "of"}
RELATIONAL_SHARE = 0.6
# capitalised words in a row, maybe joined by "of" or "for" ("Freedom of Information Act"): one name
_NAME_RUN = re.compile(r"\b[A-Z][\w-]*(?:(?:\s+(?:of|for|and|de|du|des))?\s+[A-Z][\w-]*)+")
NAME_RUN_SHARE = 0.8
# words seen after an article that are no subject on their own ("on the contrary", "the final layer", "the former"),
# and words a sentence opens with that are not its subject ("Unlike the way ...", "Finally, ...")
_NEVER_SUBJECTS = set("""contrary final former latter same whole following above below rest first second third last
    next other unlike despite like besides instead rather thus hence therefore moreover furthermore finally overall
    indeed notably similarly likewise nevertheless nonetheless meanwhile otherwise also still yet then here there
    recently later earlier given according whereas attendu considérant considerando
    current recent previous prior existing various several many different similar typical common modern""".split())
# the document's own parts, alone ("As discussed in the introduction, ...": the answer is not about the introduction)
_DOCUMENT_PARTS = set("introduction conclusion conclusions abstract appendix section sections chapter figure table "
                      "paper".split())
_NOT_NOUNS = ("ed", "ively", "ally", "ously", "essly", "fully", "ately", "ently", "antly")  # English endings
_TOKENS_AND_MARKS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|[^\w\s]|\d+")


class Focus:
    """The document's noun terms and how it writes them, and the terms the host has asked about."""

    def __init__(self, document_text: str, title: str, language: str):
        self.language = language
        self.text = document_text
        self.articles = DETERMINERS.get(language, DETERMINERS["en"])
        self.uses: Counter = Counter()  # term (tuple of stems) -> occurrences in the document
        self.phrases: Counter = Counter()  # stem pairs seen after an article or preposition, ending a phrase
        self.closed: Counter = Counter()  # stem pairs between an article and a mark ("a tun state.")
        self.heads: set[str] = set()  # words seen between an article or preposition and a function word or mark
        self.article: dict[tuple[str, ...], Counter] = defaultdict(Counter)  # words as written -> articles before
        stop = stopwords(language)
        prepositions = PREPOSITIONS.get(language, PREPOSITIONS["en"])
        tokens = _TOKENS_AND_MARKS.findall(comparable_text(document_text))
        words = [t for t in tokens if t[0].isalpha()]
        for k, word in enumerate(words):
            for term in ((stem(word),), (stem(word), stem(words[k + 1])) if k + 1 < len(words) else None):
                if term:
                    self.uses[term] += 1
        # a word mostly written after a modifier ("test set", "training set") is vague alone ("What about the set?")
        modified = Counter(stem(w) for before, w in zip(tokens, tokens[1:])
                           if w[0].isalpha() and before[0].isalpha() and before not in stop)
        self.vague = {k[0] for k, n in self.uses.items()
                      if len(k) == 1 and n >= 3 and modified[k[0]] >= VAGUE_SHARE * n}
        relational = RELATIONAL_BEFORE.get(language)
        before_of: Counter = Counter(stem(w) for w, nxt in zip(words, words[1:]) if nxt == relational)
        self.relational = {s for s, n in before_of.items() if n >= 2 and n >= RELATIONAL_SHARE * self.uses[(s,)]}
        for k in range(1, len(tokens) - 1):
            word, after = tokens[k], tokens[k + 1]
            if not word[0].isalpha() or "-" in word or not (after in _PHRASE_ENDS or after in stop) \
                    or after in _JOINS:  # "the emotional and social ..." joins adjectives
                continue
            before = tokens[k - 1]
            if before in _PRONOUNS_TOO and after not in _PHRASE_ENDS:
                continue  # "some of those went on to ...": a pronoun before a verb
            if before in self.articles:
                self.heads.add(word)
                self.article[(word,)][self.articles[before]] += 1
            elif before in prepositions and not word.endswith("ing") and word not in _COUNTS \
                    and (before, word) not in _IDIOMS:  # "after rehydration.", "in minutes or"
                self.heads.add(word)
            opener = tokens[k - 2] if k >= 2 else ""
            if (opener in self.articles or opener in prepositions) and before[0].isalpha() and before not in stop:
                self.phrases[(stem(before), stem(word))] += 1  # "the video games .", "in video games ,"
                if opener in self.articles:
                    self.article[(before, word)][self.articles[opener]] += 1
                    if after in _PHRASE_ENDS and not (language == "en" and word.endswith(("ing",) + _NOT_NOUNS)):
                        self.closed[(stem(before), stem(word))] += 1  # not "the Moon carrying, among ..."
        raw = unicodedata.normalize("NFKC", document_text)
        lower = set(re.findall(r"\b[a-z][\w-]*", raw))
        self.names = {stem(m.group(1)) for m in _NAMED.finditer(raw) if m.group(1).lower() not in lower
                      and not m.group(1).endswith(("an", "ish", "ese"))}  # "American schools": an adjective
        inside: Counter = Counter(stem(w) for run in _NAME_RUN.findall(raw) for w in re.findall(r"[A-Z][\w-]*", run))
        alone: Counter = Counter(stem(w) for w in re.findall(r"\b[A-Z][\w-]*", raw))
        # a word of a longer name ("Administration" of "Federal Aviation Administration") is no name on its own
        self.names -= {n for n in self.names if inside[n] >= NAME_RUN_SHARE * alone[n]}
        self.titled = {stem(w) for w in content_words(title, language)}
        self.excluded = self.titled | GENERIC
        self.asked: set[tuple[str, ...]] = set()
        self.heard: set[str] = set()  # stems the episode has said

    def hear(self, text: str) -> None:
        """Record what a turn said, so a term it named is no longer new."""
        self.heard |= {stem(w) for w in content_words(text, self.language)}

    def ask(self, question: str) -> None:
        """Record the words a question of the model's or the notes' named, so the host does not ask for them again."""
        self.asked |= {(stem(w),) for w in content_words(question, self.language)}

    def term(self, answer: str) -> str:
        """The focus of the answer's first sentence as the host would say it ("the tun", "virtual worlds"), or ""
        when none qualifies; the term counts as asked."""
        first = re.split(r"(?<=[.!?])\s+", answer.strip(), maxsplit=1)[0]
        keep = {w for w in content_words(first, self.language) if stem(w) not in self.excluded}
        words = _TOKENS_AND_MARKS.findall(comparable_text(first))
        cased = _TOKENS_AND_MARKS.findall(comparable_text(first, lower=False))
        capital = [w[:1].isupper() for w in cased] if len(cased) == len(words) else [False] * len(words)
        stop = stopwords(self.language)
        candidates: list[tuple[tuple, tuple[str, ...], list[str]]] = []
        for k, word in enumerate(words):
            if not word[0].isalpha():
                continue
            after = words[k + 1] if k + 1 < len(words) else ""
            if after[:1].isdigit() or after == "-" and words[k + 2:k + 3] and words[k + 2][:1].isdigit():
                continue  # a label with its number ("GTX 580", "layer 4", "top-5"): "What about GTX?" asks nothing
            if k and words[k - 1] in _POINTERS or after == "'" and words[k + 2:k + 3] == ["s"] \
                    or any(w[:1].isdigit() for w in words[max(0, k - 2):k]):
                continue  # "datasets of this size" (named elsewhere), "Amazon's ...", "18 degrees Celsius" (a unit)
            spans = [[word]] + ([[word, after]] if after[:1].isalpha() else [])  # no pair across a mark
            for span in spans:
                key = tuple(stem(w) for w in span)
                if len(span) == 1 and ((key[0], stem(after)) in self.closed or key[0] in self.vague
                                       or after[:1].isalpha() and after not in stop
                                       and self.uses[(key[0], stem(after))] >= 2  # "weight" of "weight decay"
                                       or self._in_longer_name(words[k], capital, k)) \
                        or span[-1].lower() in _NEVER_SUBJECTS or span == [word] and word.lower() in _DOCUMENT_PARTS:
                    continue  # a modifier ("supplementary" of "the supplementary table."), a vague word, an idiom
                if not (all(w in keep for w in span) or len(span) == 2 and span[0] in keep
                        and key in self.closed and key[1] not in self.titled):  # "the supplementary table"
                    continue
                if key in self.asked or all((s,) in self.asked for s in key) or self.uses[key] < MIN_USES \
                        or not self._noun(key, span) or any("-" in w for w in span):
                    continue
                new = not any(s in self.heard for s in key)
                candidates.append(((new, len(key) > 1, self.uses[key], -k), key, span))
        if not candidates:
            return self._subject(words, keep)
        _, key, span = max(candidates, key=lambda c: c[0])
        self.asked.add(key)
        if len(key) == 2:  # the single words of an asked phrase are asked too
            self.asked |= {(s,) for s in key}
        return self._said(key, span, first)

    def _in_longer_name(self, word: str, capital: list[bool], k: int) -> bool:
        """A capitalised word inside a longer name, and no name on its own ("Object" of "Pascal Visual Object
        Challenge"; "ImageNet" of "ImageNet Large-Scale ..." is one)."""
        return k > 0 and capital[k] and (capital[k - 1] or k + 1 < len(capital) and capital[k + 1]) \
            and stem(word) not in self.names

    def _subject(self, words: list[str], keep: set[str]) -> str:
        """The word a sentence opens with, when nothing in it is seen as a noun (a short document shows few): the
        subject of most answers ("Revival takes minutes to hours." -> "revival", "Survival was counted ..."). Only
        before a function word or a show word; not a word the host asked about, a show word, a participle or adverb,
        nor one set off by a comma ("Overall, ...")."""
        if len(words) < 3 or not words[0][:1].isalpha() or not words[1][:1].isalpha() or words[0] not in keep \
                or words[1] in keep:  # "Raw counts are ...", "Tun loses most ...": which word heads it is unknown
            return ""
        word = words[0]
        key = (stem(word),)
        lower = word.lower()
        participle = self.language == "en" and lower.endswith(("ing",) + _NOT_NOUNS) and key[0] not in self.names
        if key in self.asked or lower in _NEVER_SUBJECTS | _DOCUMENT_PARTS or "-" in word or participle:
            return ""
        self.asked.add(key)
        if word[1:].islower() and key[0] not in self.names:
            word = lower  # its capital came from the sentence's start
        return self._said(key, [word], word)

    def _noun(self, key: tuple[str, ...], span: list[str]) -> bool:
        """A word seen as a phrase's head after an article (not a participle), or a name, and not mostly followed by
        "of"; a pair that recurs, ends in one and is seen as a phrase after an article or a preposition ("in video
        games ,"; "motivate students" is not) or led by a name ("CAHS proteins")."""
        word = span[-1].lower()
        singular, plural = re.sub(r"(?<=\w\w)[sx]$", "", word), word + "s"  # "the student ." makes "students" one
        head = bool({word, singular, plural} & self.heads) or key[-1] in self.names
        if len(key) == 1 and self.language == "en" and len(word) > 5 and word.endswith(_NOT_NOUNS):
            return key[0] in self.names  # "the intended", "the excessively": a participle or an adverb
        return head and (key[0] not in self.relational or key[0] in self.names) if len(key) == 1 else \
            head and self.uses[key] >= 2 and (self.phrases[key] >= 1 or key[0] in self.names) \
            or self.closed[key] >= 1  # nothing else can end a phrase there: once is enough

    def _said(self, key: tuple[str, ...], span: list[str], sentence: str) -> str:
        """The term as written in the answer (its capitals kept unless only the sentence's start gave them), after
        the article the document most often puts before it."""
        match = re.search(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in span) + r"(?!\w)", sentence, re.IGNORECASE)
        written = match.group(0) if match else " ".join(span)
        lower = written[:1].lower() + written[1:]
        if match and match.start() == 0 and written != lower and not written[1:2].isupper() \
                and re.search(rf"(?<!\w){re.escape(lower)}(?!\w)", self.text):  # capital only as the first word
            written = lower
        forms = self.article[tuple(span)]
        article = forms.most_common(1)[0][0] if forms else ""
        if not article and self.language == "en" and not written.endswith("s") and key[-1] not in self.names:
            article = "the"  # "What about environment?" needs one; a plural or a name does not
        if not article:
            return written
        return article + written if article.endswith("'") else f"{article} {written}"
