"""Languages: names as people type them ("English", "Deutsch", "pt-BR") to the ISO 639-1 codes engines declare, and
the language a document's text is written in.

Prompts take the name the user gave (the model understands "English" best); engines, speech normalisation and the
script file take the code.
"""

from __future__ import annotations

from .split import CJK_CHARACTER

_NAMES = {
    "english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr", "francais": "fr",
    "spanish": "es", "español": "es", "espanol": "es", "italian": "it", "italiano": "it", "portuguese": "pt",
    "português": "pt", "portugues": "pt", "dutch": "nl", "nederlands": "nl", "swedish": "sv", "svenska": "sv",
    "danish": "da", "norwegian": "no", "finnish": "fi", "polish": "pl", "polski": "pl", "czech": "cs",
    "russian": "ru", "ukrainian": "uk", "greek": "el", "turkish": "tr", "arabic": "ar", "hebrew": "he",
    "hindi": "hi", "chinese": "zh", "mandarin": "zh", "japanese": "ja", "korean": "ko", "vietnamese": "vi",
    "indonesian": "id", "thai": "th", "hungarian": "hu", "romanian": "ro",
}


def language_code(language: str | None, default: str = "en") -> str:
    """'English' -> 'en', 'en-US' -> 'en', 'pt_BR' -> 'pt'; an unknown name is returned lower-cased as it is."""
    text = (language or "").strip().lower()
    if not text:
        return default
    if text in _NAMES:
        return _NAMES[text]
    head = text.replace("_", "-").split("-")[0]
    return head if len(head) in (2, 3) and head.isalpha() else _NAMES.get(head, text)


_ENGLISH_NAMES = {code: name.title() for name, code in reversed(list(_NAMES.items()))}  # the English name wins


def language_name(code: str) -> str:
    """"zh" -> "Chinese": models follow a language's English name best; an unknown code stays as it is."""
    return _ENGLISH_NAMES.get(code.lower().split("-")[0], code)


_LANGDETECT_READY = False


def guess_language(text: str) -> str:
    """ISO 639-1 code by langdetect (seeded, so the same text always gives the same answer); "en" if unsure."""
    global _LANGDETECT_READY
    sample = text[:4000]
    if len(sample.split()) < 3 and len(CJK_CHARACTER.findall(sample)) < 6:  # Chinese and Japanese use no spaces
        return "en"
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:
        return "en"
    if not _LANGDETECT_READY:
        DetectorFactory.seed = 0
        _LANGDETECT_READY = True
    try:
        return detect(sample).split("-")[0]
    except LangDetectException:
        return "en"
