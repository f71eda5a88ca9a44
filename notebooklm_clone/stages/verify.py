"""Faithfulness: is a written statement (a key point, a definition, an answer) supported by its evidence sentences?

The citation check only asks whether a term or a number is somewhere on the cited page, so a swapped number, a
swapped name, a dropped "not" or a claim moved to the wrong experiment all pass it. `verify` reads the statement
against the few verbatim sentences it rests on, deterministically and offline:

- numbers: every number in the statement (digits or spelled out, with its unit) must be in the evidence;
- names: capitalised words inside a sentence, acronyms, CamelCase and tokens with digits ("ResNet-152") must be too;
- negation: a negation on one side only is a different claim (a clause dropped with its negation is fine);
- content: enough of the statement's content words (light stems, stopwords out) must be in the evidence, and a
  statement with almost none of them is generic.

`duplicates` finds near-duplicate statements by the overlap of their content-word sets.
The thresholds were calibrated with bench/bench_verifier.py (labelled pairs built from real documents).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..text.split import CJK_CHARACTER
from .citations import STOPWORDS as _CITATION_STOPWORDS
from .citations import _TEENS, _TENS, comparable_text, number_spellings

_SMALL = "zero one two three four five six seven eight nine".split()
# Share of the statement's content stems the evidence must hold. Calibrated with bench/bench_verifier.py on half of
# the documents (the best worse-of-catch-and-pass on a 0.30..0.80 grid); its paraphrases swap two words at most, so
# a model's freer rewording sits closer to this line than the bench's.
MIN_OVERLAP = 0.65
GENERIC_BELOW = 0.3  # under this share (or fewer than 2 shared stems) the statement is called generic
DUPLICATE_SIMILARITY = 0.8  # Jaccard similarity of content-stem sets above which two statements say the same
CONTAINED_MIN, CONTAINED_SHARE = 5, 0.9  # or: a statement of 5+ content stems, 90% of them inside another

_STOP = {
    "en": _CITATION_STOPWORDS | set(_SMALL) | set(_TEENS) | set(_TENS) | set(
        """the and for are but can has had its our was one all any may how who why per via yet also not nor who
        is it in on of to a an as at be by or if so we he she they their there which that this these those has have
        been its into than then thus only well much many more most such very each both other same new high low
        first second third while where when what whose whom does did done can could would should shall may might
        must will just often even still yet out off own too due upon onto per among able whereas""".split()),
    "fr": set("""les des une est dans pour par sur avec sont aux que qui pas ces son ses leur leurs mais elle ils
        elles nous vous tout tous cette cet comme plus moins être avoir fait été était ont entre sans aussi
        dont où ainsi très peut quel quelle quels quelles lequel laquelle lesquels comment pourquoi combien quand
        qu'est attendu considérant""".split()),  # a recital's formula ("Attendu la demande ...")
    "de": set("""der die das den dem des ein eine einer eines einem und oder aber ist sind war waren wird werden
        mit von für auf aus bei nach über unter zum zur nicht kein keine sich auch als wie noch nur sehr dass
        diese dieser dieses hat haben wurde wurden kann können was wer wen wem wessen warum wann welche welcher
        welches welchen wieviel wieviele""".split()),
}
_CJK_STOP = set("的了是在和与及或也都而之其这那有为以于中就不没")

_NEGATION = {
    "en": re.compile(r"\b(?:not|no|never|without|cannot|none|nor|neither|nobody|nothing|nowhere|unable|lacks?|lacked|"
                     r"fail(?:s|ed)? to)\b|n't\b|n’t\b"),
    "fr": re.compile(r"\b(?:pas|jamais|sans|aucun|aucune|non|rien|ni|nullement)\b"),
    "de": re.compile(r"\b(?:nicht|kein|keine|keinen|keinem|keiner|keines|nie|niemals|ohne|weder|nichts)\b"),
}
_CJK_NEGATION = re.compile("[不没無无未非]")
NEGATION_SCOPE = 2  # content words after a negation that make up what it negates

_UNIT_WORDS = {
    "%": "%", "percent": "%", "per cent": "%", "pct": "%", "°c": "°c", "°f": "°f", "k": "k", "kelvin": "k",
    "km": "km", "m": "m", "cm": "cm", "mm": "mm", "µm": "µm", "nm": "nm", "kg": "kg", "g": "g", "mg": "mg",
    "ms": "ms", "s": "s", "sec": "s", "seconds": "s", "min": "min", "minutes": "min", "h": "h", "hours": "h",
    "days": "days", "years": "years", "gy": "gy", "mb": "mb", "gb": "gb", "tb": "tb", "hz": "hz", "khz": "khz",
    "mhz": "mhz", "ghz": "ghz", "million": "million", "billion": "billion", "thousand": "thousand",
}
_NUMBER_WITH_UNIT = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s*(per cent|°[cf]|%|[^\W\d_]+)?")
_WORD_NUMBERS = {w: str(i) for i, w in enumerate(_SMALL) if i >= 2} | {
    w: str(n) for n in range(10, 100) for w in number_spellings(str(n))}
_TOKEN = re.compile(r"[^\W_](?:[\w’'\-/.]*[^\W_])?")
_WORD = re.compile(r"[^\W\d_]{3,}")
_SENTENCE_START = re.compile(r"(?:^|(?<!\b[A-Z])[.!?]\s+|:\s+)$")  # "M. Besso" starts none


@dataclass
class Verdict:
    """Whether the evidence supports the statement, the share of its content words there, and why not."""

    supported: bool
    score: float
    reasons: list[str] = field(default_factory=list)


def _lang(language: str, text: str) -> str:
    if len(CJK_CHARACTER.findall(text)) * 3 > max(1, len(text.replace(" ", ""))):
        return "cjk"
    code = (language or "en").lower().replace("_", "-").split("-")[0]
    return code if code in _STOP else "other"


def stem(word: str) -> str:
    """A light stem: "trained", "training", "trains" -> "train"; "produces", "production" -> "produc"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4:
        for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
            if w.endswith(suffix) and not w.endswith("ss") and len(w) - len(suffix) >= 3:
                w = w[: len(w) - len(suffix)] + repl
                break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w[:6]


def content_stems(text: str, language: str = "en") -> list[str]:
    """The statement's content units: stems of non-stopwords (CJK: the characters themselves), in order, unique."""
    text = comparable_text(text)
    lang = _lang(language, text)
    units: list[str] = []
    if lang == "cjk":
        units = [c for c in CJK_CHARACTER.findall(text) if c not in _CJK_STOP]
        text = CJK_CHARACTER.sub(" ", text)
    stop = _STOP.get(lang, _STOP["en"])
    for word in _WORD.findall(text):
        if word not in stop:
            units.append(stem(word) if lang in ("en", "cjk") else word[:5])
    return list(dict.fromkeys(units))


def stopwords(language: str) -> set[str]:
    """The function words of the language (English for one without a list)."""
    return _STOP.get(_lang(language, ""), _STOP["en"])


def content_words(text: str, language: str = "en") -> list[str]:
    """The words a search should look for: non-stopwords as written (lower case), in order, unique."""
    text = comparable_text(text)
    stop = _STOP.get(_lang(language, text), _STOP["en"])
    return list(dict.fromkeys(w for w in _WORD.findall(text) if w not in stop))


# -- numbers


def numbers_with_units(text: str) -> list[tuple[str, str]]:
    """(number, unit) pairs of a comparable text; the unit is "" when the next word is not a unit."""
    found = []
    for raw, unit in _NUMBER_WITH_UNIT.findall(text.replace(",", "") if "," in text else text):
        number = raw.rstrip(".")
        if re.fullmatch(r"\d+\.0+", number):
            number = number.split(".")[0]
        found.append((number, _UNIT_WORDS.get((unit or "").strip(), "")))
    return found


def _spelled(number: str) -> list[str]:
    if number.isdigit() and int(number) < 10:
        return [_SMALL[int(number)]]
    return number_spellings(number)


def _number_problems(statement: str, evidence: str) -> list[str]:
    s_text, e_text = comparable_text(statement), comparable_text(evidence)
    e_nocomma = e_text.replace(",", "")
    e_pairs = numbers_with_units(e_text)
    problems = []
    for number, unit in dict.fromkeys(numbers_with_units(s_text)):
        units_there = [u for n, u in e_pairs if n == number]
        # "forty" alone, not the "forty" of "forty-two"
        spelled = any(re.search(rf"\b{re.escape(w)}\b(?![-\s](?:{'|'.join(_SMALL[1:])})\b)", e_nocomma)
                      for w in _spelled(number))
        if not units_there and not spelled:
            problems.append(f"number {number} not in evidence")
        elif unit and units_there and "" not in units_there and unit not in units_there:
            problems.append(f"number {number} {unit} not in evidence (it has {number} {units_there[0]})")
    e_numbers = {n for n, _ in e_pairs}
    for word, digits in _WORD_NUMBERS.items():
        # "twenty" alone, not the "twenty" of "twenty-one"
        pattern = rf"\b{word}\b" + (rf"(?![-\s](?:{'|'.join(_SMALL[1:])})\b)" if word in _TENS else "")
        if re.search(pattern, s_text) and digits not in e_numbers and not re.search(pattern, e_text):
            problems.append(f"number {word} not in evidence")
    return problems


# -- names


def names_in(text: str, language: str = "en") -> list[str]:
    """Named entities and technical names: capitalised words inside a sentence, acronyms, CamelCase, tokens with
    digits. German capitalises every noun, so there only the last three kinds count."""
    lang = _lang(language, text)
    names = []
    for match in _TOKEN.finditer(text):
        token = match.group().rstrip(".")
        letters = [c for c in token if c.isalpha()]
        if not letters or CJK_CHARACTER.search(token):
            continue
        inner_upper = any(c.isupper() for c in token[1:] if c.isalpha())
        has_digit = any(c.isdigit() for c in token)
        starts = bool(_SENTENCE_START.search(text[: match.start()]))
        capitalised = token[0].isupper() and len(letters) >= 2 and lang not in ("de", "cjk") and not starts
        if (inner_upper or has_digit or capitalised) and token != "I":
            names.append(token)
    return list(dict.fromkeys(names))


# Words that open English sentences without naming anything: never a swapped name.
_OPENERS = {"today", "now", "here", "there", "however", "thus", "therefore", "moreover", "furthermore", "also",
            "yet", "still", "instead", "overall", "finally", "first", "second", "third", "next", "then", "later",
            "earlier", "recently", "let", "so", "together", "meanwhile", "similarly", "likewise", "indeed", "in",
            "for", "when", "while", "after", "before", "during", "since", "because", "although", "unlike", "like",
            "besides", "notably", "importantly", "interestingly", "surprisingly", "essentially", "basically", "well",
            "okay", "yes", "right", "exactly", "sure", "great", "imagine", "think", "consider", "remember", "note"}


def _swapped_opening(statement: str, evidence: str, lang: str) -> str | None:
    """A statement's first word is never taken for a name, but one that is nowhere in the evidence while a name of the
    evidence is missing from the statement is most likely that name swapped ("Spallanzani described" for "Goeze")."""
    first = re.match(r"\s*([A-Z][^\W\d_]{2,})\b", statement)
    if not first or lang in ("de", "cjk") or first.group(1).lower() in _STOP.get(lang, _STOP["en"]):
        return None
    if lang == "en" and first.group(1).lower() in _OPENERS:
        return None
    word = first.group(1)
    if word.endswith("ly") or _name_in(word, comparable_text(evidence)):
        return None
    s_text = comparable_text(statement)
    for match in re.finditer(r"\b[A-Z][^\W\d_]{2,}", evidence):
        other = match.group()
        if other.lower() not in _STOP.get(lang, _STOP["en"]) and not _name_in(other, s_text):
            return word
    return None


def _name_in(name: str, evidence: str) -> bool:
    key = comparable_text(name)
    key = re.sub(r"(?<=[a-z0-9])(?:'s|s)$", "", key) if len(key) > 3 or name[:-1].isupper() else key
    parts = [re.escape(p) for p in re.split(r"[-\s/]+", key) if p]
    pattern = r"[-\s/]?".join(parts)
    return bool(re.search(rf"(?<![\w]){pattern}", evidence))


# -- negation


def _negations(text: str, lang: str) -> list[re.Match]:
    if lang == "cjk":
        return list(_CJK_NEGATION.finditer(text))
    return list(_NEGATION.get(lang, _NEGATION["en"]).finditer(text))


def _scopes(text: str, lang: str) -> list[tuple[str, set[str]]]:
    """Each negation as (its words, what it negates: the next few content units, the first of them)."""
    found = []
    for match in _negations(text, lang):
        after = re.split(r"[,;:.!?()]|\s(?:but|and|or|mais|et|ou|aber|und|oder)\s", text[match.end():])[0]
        scope = (CJK_CHARACTER.findall(after)[:NEGATION_SCOPE] if lang == "cjk"
                 else content_stems(after, lang)[:NEGATION_SCOPE])
        if not scope and lang != "cjk" and _WORD.search(after):  # "not done": only a stopword is negated
            scope = [stem(_WORD.search(after).group())]
        words = " ".join(after.split()[:NEGATION_SCOPE + 1]) if lang != "cjk" else after[:NEGATION_SCOPE]
        found.append((f"{match.group()} {words}".strip(), set(scope), scope[0] if scope else ""))
    return found


def _negation_problem(statement: str, evidence: str, lang: str) -> str | None:
    """A negation in the statement must negate what one in the evidence negates; a negation in the evidence whose
    words all reappear in the statement must be there too, on the same word (its first content word)."""
    s_text, e_text = comparable_text(statement), comparable_text(evidence)
    s_scopes, e_scopes = _scopes(s_text, lang), _scopes(e_text, lang)
    if not s_scopes and not e_scopes:
        return None
    if len(s_scopes) > len(e_scopes):
        return f"negation differs: the statement says '{s_scopes[-1][0]}', the evidence does not"
    for phrase, scope, _ in s_scopes:
        if scope and not any(scope & other for _, other, _ in e_scopes):
            return f"negation differs: the statement says '{phrase}', the evidence does not"
    s_units = (set(content_stems(s_text, lang)) | {stem(w) for w in _WORD.findall(s_text)}
               | (set(CJK_CHARACTER.findall(s_text)) if lang == "cjk" else set()))
    s_heads = Counter(head for _, _, head in s_scopes)
    for phrase, scope, head in e_scopes:
        if scope and scope <= s_units:
            if s_heads[head] <= 0:
                return f"negation differs: the evidence says '{phrase}', the statement does not"
            s_heads[head] -= 1
    return None


# -- the verdict


def verify(statement: str, evidence: list[str] | str, language: str = "en", *, min_overlap: float = MIN_OVERLAP,
           generic_below: float = GENERIC_BELOW) -> Verdict:
    """Whether `evidence` (one or a few verbatim source sentences) supports `statement`; see the module doc."""
    evidence_text = " ".join(evidence) if isinstance(evidence, (list, tuple)) else str(evidence)
    lang = _lang(language, statement + " " + evidence_text)
    reasons = _number_problems(statement, evidence_text)
    e_comparable = comparable_text(evidence_text)
    for name in names_in(statement, language):
        if not _name_in(name, e_comparable):
            reasons.append(f"entity '{name}' not in evidence")
    swapped = _swapped_opening(statement, evidence_text, lang)
    if swapped:
        reasons.append(f"entity '{swapped}' not in evidence")
    negation = _negation_problem(statement, evidence_text, lang)
    if negation:
        reasons.append(negation)
    stems = content_stems(statement, language)
    have = set(content_stems(evidence_text, language))
    shared = [s for s in stems if s in have or (lang == "en" and any(h.startswith(s) or s.startswith(h)
                                                                      for h in have if min(len(h), len(s)) >= 4))]
    score = round(len(shared) / len(stems), 3) if stems else 0.0
    if not stems:
        reasons.append("generic: no content words")
    elif score < generic_below or (len(shared) < 2 and len(stems) >= 3):
        reasons.append(f"generic: only {len(shared)} of {len(stems)} content words in evidence")
    elif score < min_overlap:
        reasons.append(f"content overlap {score:.2f} < {min_overlap:.2f}")
    return Verdict(supported=not reasons, score=score, reasons=reasons)


def duplicates(statements: list[str], threshold: float = DUPLICATE_SIMILARITY,
               language: str = "en") -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, whose content-stem sets have a Jaccard similarity of at least `threshold`, or where one
    of CONTAINED_MIN or more stems lies almost whole (CONTAINED_SHARE) inside the other: "We must understand what X
    is" says again what "If X is to be of use, we must understand what X is" said."""
    sets = [set(content_stems(s, language)) or {comparable_text(s)} for s in statements]
    pairs = []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            union, shared = sets[i] | sets[j], len(sets[i] & sets[j])
            smaller = min(len(sets[i]), len(sets[j]))
            if union and (shared / len(union) >= threshold
                          or (smaller >= CONTAINED_MIN and shared / smaller >= CONTAINED_SHARE)):
                pairs.append((i, j))
    return pairs


# -- answers

SHORT_ANSWER = 3  # an answer with fewer content words is checked together with its question
BLANK = "_____"
# words about the document rather than from it: "The text says that X" answers nothing a question about X did not
_META = {stem(w) for w in "text says say said states state stated mentions mentioned describes described document "
         "paper article author authors discusses discussed explains explained talks notes noted".split()}
QUANTITY = re.compile(r"^\W*(?:how (?:many|much|long|often|far|old|large|big|high|fast)|what (?:percentage|proportion|"
                       r"number|share|fraction|year|date|temperature|size)|in what year|when)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[;:.!?]\s|,\s(?=(?:but|while|whereas|although)\b)")


def answer_statement(question: str, answer: str, language: str = "en", always: bool = False) -> str:
    """What an answer claims: the answer alone when it is a sentence, else the question and the answer together (an
    answer of two words says nothing alone). A dash, not a colon: the answer's first word then reads as inside a
    sentence, so a name is checked."""
    if BLANK in question:  # a fill-in-the-blank question claims its sentence with the blank filled
        quoted = re.search(r"[\u201c\"](.+)[\u201d\"]", question)
        return (quoted.group(1) if quoted else question).replace(BLANK, answer.strip(), 1)
    if not always and len(content_stems(answer, language)) >= SHORT_ANSWER:
        return answer
    return f"{question.strip().rstrip('?').rstrip()} — {answer.strip()}"


REASON = re.compile(r"\b(?:because|since|so that|so as to|in order to|due to|thanks to|as a result|owing to|"
                    r"the reason|parce qu(?:e\b|['’])|afin de|puisqu(?:e\b|['’])|en raison de|grâce à|"
                    r"pour qu(?:e\b|['’])|weil|damit|porque|perché)\b", re.IGNORECASE)
ASKS_REASON = re.compile(r"(?:^|[.?!]\s+)\W*(?:why|pourquoi|warum|por qué|perché)\b|\breasons?\b|"
                         r"\b(?:la|les|quelles?) raisons?\b|\bgrund\b|\bgründe\b|\b(?:la|las|qué) raz(?:ón|ones)\b|"
                         r"\bmotivos?\b", re.IGNORECASE)  # not "avoir raison" (be right)


_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")  # "in 1773" counts nothing
ASKS_COUNT = re.compile(r"^\W*(?:how (?:many|much)|what (?:percentage|proportion|number|share|fraction)|combien|"
                        r"wie ?viele?|cuánt[oa]s?)\b", re.IGNORECASE)
_COUNTED = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                      r"fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|twice|single|several|few|"
                      r"most|none|deux|trois|quatre|cinq|sept|huit|neuf|dix|cent|mille|plusieurs|zwei|drei|vier|"
                      r"fünf|sechs|sieben|acht|neun|zehn|hundert|tausend|mehrere|dos|tres|cuatro|cinco|seis|siete|"
                      r"ocho|nueve|diez|cien|mil|varios)\b", re.IGNORECASE)


def gives_what_is_asked(question: str, answer: str) -> bool:
    """A "why" question is answered only by an answer that gives a reason ("because", "so that", "due to" ...), a
    "how many" one by an answer with a count (alexnet's "How many kernels does each convolutional layer have?" was
    kept on a sentence about which layers connect)."""
    return (not ASKS_REASON.search(question) or bool(REASON.search(answer))) \
        and (not ASKS_COUNT.search(question) or bool(_COUNTED.search(_YEAR.sub("", answer))))


def verify_answer(question: str, answer: str, evidence: list[str] | str, language: str = "en",
                  always: bool = False) -> Verdict:
    """`verify` of the answer with its question, and for a short answer also that the evidence gives it where it
    speaks of what the question asks: "How many walked within forty minutes? Eleven" is refused by "most were
    walking within forty minutes; eleven tuns did not recover", whose every word is in the evidence."""
    verdict = verify(answer_statement(question, answer, language, always), evidence, language)
    if not verdict.supported or BLANK in question:
        return verdict
    answer_stems, question_stems = set(content_stems(answer, language)), set(content_stems(question, language))
    plain_answer = comparable_text(answer)
    said = answer_stems - _META
    new = said - question_stems
    if said and (not new or (len(said) >= 6 and len(new) / len(said) < 0.2)) and not re.search(r"\d", answer):
        return Verdict(False, verdict.score, ["the answer only repeats the question"])
    if QUANTITY.search(question) and not (re.search(r"\d", answer) or any(
            re.search(rf"\b{w}\b", plain_answer) for w in [*_SMALL[1:], *_WORD_NUMBERS])):
        return Verdict(False, verdict.score, ["the question asks for a quantity and the answer gives none"])
    if len(answer_stems) >= SHORT_ANSWER:
        return verdict
    asked = question_stems - answer_stems
    if not asked:
        return verdict
    text = " ".join(evidence) if isinstance(evidence, (list, tuple)) else str(evidence)
    gives_something = bool(numbers_with_units(plain_answer) or answer_stems)
    best = 0.0
    for clause in _CLAUSE.split(comparable_text(text)):
        clause_stems = set(content_stems(clause, language))
        if _number_problems(answer, clause) or not answer_stems <= clause_stems:
            continue
        if not (gives_something or any(re.search(rf"\b{w}\b", clause) for w in _WORD_NUMBERS if w in plain_answer)):
            continue
        best = max(best, len(asked & clause_stems) / len(asked))
    if best < 0.5:
        return Verdict(False, verdict.score, [f"the evidence does not give '{answer}' as the answer to this question"])
    return verdict
