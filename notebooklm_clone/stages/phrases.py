"""The show's own lines: welcome, plan, transitions, plain questions, recap and goodbye, per language.

They hold no fact: only the document's title and the topics the episode covers are put in. Written by code rather
than by the model, the frame of the show cannot invent a guest, thank anyone mid-show or claim the authors' work.
A language without its own set uses English.
"""

from __future__ import annotations

import re

from ..text.lang import language_code

MAX_PLANNED = 3  # topics the welcome names; a longer list is a roll call nobody follows (a rule had ten)
PHRASES: dict[str, dict] = {
    "en": {
        "welcome": "Welcome to the show. Today we are reading {title}.",
        "plan_one": "We will look at {topics}.",
        "plan": "We will go through {topics}.",
        "plan_span": "We will go through {n} parts, from {first} to {last}.",
        "opening": "So, what is it about?",
        "transitions": ["First, {topic}.", "Now, {topic}.", "Let's turn to {topic}.", "Next, {topic}.",
                        "On to {topic}."],
        "about": ["What about {term}?", "And what about {term}?", "What do we learn about {term}?"],
        "questions": ["What else stands out?", "What comes next?", "What else is there?", "What's the next point?",
                      "Anything else worth knowing?", "What else does it cover?", "What else did they report?",
                      "Where does it go next?"],
        "first_questions": ["What does it say?", "Where does it start?", "What is there to know?"],
        "recap_none": "That was {title}.", "recap_one": "That was {title}, on {topic}.",
        "recap": "That was {title}, from {first} to {last}.",
        "goodbye": "Thanks for listening.",
        "and": "and",
        "links": "what the sources share",
        "link_first": "Both {first} and {second} speak of {theme}. What does {first} say?",
        "link_second": "And what does {second} say about {theme}?",
    },
    "fr": {
        "welcome": "Bienvenue. Aujourd'hui, nous lisons {title}.",
        "plan_one": "Nous allons parler de {topics}.",
        "plan": "Nous allons parcourir {topics}.",
        "plan_span": "Nous allons parcourir {n} parties, de {first} à {last}.",
        "opening": "Alors, de quoi s'agit-il ?",
        "transitions": ["D'abord, {topic}.", "Passons à {topic}.", "Ensuite, {topic}.", "Maintenant, {topic}."],
        "about": ["Et {term} ?", "Que retenir sur {term} ?"],
        "questions": ["Qu'y a-t-il d'autre ?", "Que se passe-t-il ensuite ?", "Que dit encore le document ?", "Quel est le point suivant ?"],
        "first_questions": ["Que dit cette partie ?", "Par quoi commence-t-elle ?"],
        "recap_none": "C'était {title}.", "recap_one": "C'était {title}, sur {topic}.",
        "recap": "C'était {title}, de {first} à {last}.",
        "goodbye": "Merci de nous avoir écoutés.",
        "and": "et",
        "links": "ce que les sources ont en commun",
        "link_first": "{first} et {second} parlent tous deux de {theme}. Que dit {first} ?",
        "link_second": "Et que dit {second} sur {theme} ?",
    },
    "de": {
        "welcome": "Willkommen. Heute lesen wir {title}.",
        "plan_one": "Es geht um {topics}.",
        "plan": "Wir gehen durch {topics}.",
        "plan_span": "Wir gehen durch {n} Teile, von {first} bis {last}.",
        "opening": "Worum geht es also?",
        "transitions": ["Zuerst: {topic}.", "Weiter mit {topic}.", "Jetzt zu {topic}.", "Als Nächstes: {topic}."],
        "about": ["Und {term}?"],
        "questions": ["Was fällt noch auf?", "Wie geht es weiter?", "Was sagt das Dokument noch?", "Was ist der nächste Punkt?"],
        "first_questions": ["Was steht hier?", "Womit beginnt es?"],
        "recap_none": "Das war {title}.", "recap_one": "Das war {title}, über {topic}.",
        "recap": "Das war {title}, von {first} bis {last}.",
        "goodbye": "Danke fürs Zuhören.",
        "and": "und",
        "links": "was die Quellen verbindet",
        "link_first": "Sowohl {first} als auch {second} sprechen über {theme}. Was sagt {first}?",
        "link_second": "Und was sagt {second} über {theme}?",
    },
    "es": {
        "welcome": "Bienvenidos. Hoy leemos {title}.",
        "plan_one": "Hablaremos de {topics}.",
        "plan": "Recorreremos {topics}.",
        "plan_span": "Recorreremos {n} partes, desde {first} hasta {last}.",
        "opening": "Entonces, ¿de qué trata?",
        "transitions": ["Primero, {topic}.", "Ahora, {topic}.", "Pasemos a {topic}.", "Siguiente: {topic}."],
        "about": ["¿Y {term}?"],
        "questions": ["¿Qué más destaca?", "¿Qué viene después?", "¿Qué más dice el documento?", "¿Cuál es el siguiente punto?"],
        "first_questions": ["¿Qué dice esta parte?", "¿Por dónde empieza?"],
        "recap_none": "Eso fue {title}.", "recap_one": "Eso fue {title}, sobre {topic}.",
        "recap": "Eso fue {title}, de {first} a {last}.",
        "goodbye": "Gracias por escuchar.",
        "and": "y",
        "links": "lo que comparten las fuentes",
        "link_first": "Tanto {first} como {second} hablan de {theme}. ¿Qué dice {first}?",
        "link_second": "¿Y qué dice {second} sobre {theme}?",
    },
    "it": {
        "welcome": "Benvenuti. Oggi leggiamo {title}.",
        "plan_one": "Parleremo di {topics}.",
        "plan": "Vedremo {topics}.",
        "plan_span": "Vedremo {n} parti, da {first} a {last}.",
        "opening": "Allora, di cosa si tratta?",
        "transitions": ["Prima di tutto, {topic}.", "Ora, {topic}.", "Passiamo a {topic}.", "Poi, {topic}."],
        "about": ["E {term}?"],
        "questions": ["Che altro emerge?", "E poi cosa succede?", "Che altro dice il documento?", "Qual è il punto successivo?"],
        "first_questions": ["Che cosa dice questa parte?", "Da dove comincia?"],
        "recap_none": "Era {title}.", "recap_one": "Era {title}, su {topic}.",
        "recap": "Era {title}, da {first} a {last}.",
        "goodbye": "Grazie per l'ascolto.",
        "and": "e",
        "links": "ciò che le fonti hanno in comune",
        "link_first": "Sia {first} sia {second} parlano di {theme}. Cosa dice {first}?",
        "link_second": "E cosa dice {second} su {theme}?",
    },
    "pt": {
        "welcome": "Bem-vindos. Hoje lemos {title}.",
        "plan_one": "Vamos falar de {topics}.",
        "plan": "Vamos percorrer {topics}.",
        "plan_span": "Vamos percorrer {n} partes, de {first} a {last}.",
        "opening": "Então, do que se trata?",
        "transitions": ["Primeiro, {topic}.", "Agora, {topic}.", "Passemos a {topic}.", "A seguir, {topic}."],
        "about": ["E {term}?"],
        "questions": ["O que mais se destaca?", "O que vem depois?", "O que mais diz o documento?", "Qual é o próximo ponto?"],
        "first_questions": ["O que diz esta parte?", "Por onde começa?"],
        "recap_none": "Foi {title}.", "recap_one": "Foi {title}, sobre {topic}.",
        "recap": "Foi {title}, de {first} a {last}.",
        "goodbye": "Obrigado por ouvir.",
        "and": "e",
        "links": "o que as fontes têm em comum",
        "link_first": "Tanto {first} como {second} falam de {theme}. O que diz {first}?",
        "link_second": "E o que diz {second} sobre {theme}?",
    },
}


def _form_pattern(piece: str) -> str:
    """One sentence of a form as a pattern: any title or topic where it has a value, French "de" maybe elided."""
    return re.sub(r"\\\{\w+\\\}", r".{1,400}?", re.escape(piece.strip())).replace("de\\ .", "(?:de\\ |d').")


# the frame names only the title and the topics: a sentence that is one of its forms (any language) with any title or
# topic put in is no claim about the document; one or more forms in a row ("That was X, from A to B. Thanks for
# listening." is one sentence when B ends in "A.")
_FRAME_FORMS = "|".join(sorted({_form_pattern(piece) for table in PHRASES.values() for form in table.values()
                                for f in ([form] if isinstance(form, str) else form)
                                for piece in re.split(r"(?<=[.!?])\s+", f)}, key=len, reverse=True))
_FRAME = re.compile(rf"(?:{_FRAME_FORMS})(?:\s+(?:{_FRAME_FORMS}))*", re.IGNORECASE)


def is_frame(sentence: str) -> bool:
    """A sentence of the show's own frame (welcome, plan, transition, recap) with any title or topic put in."""
    return bool(_FRAME.fullmatch(sentence.strip()))


class Phrases:
    """The phrase set of one language, with the few formatting rules the frame needs."""

    def __init__(self, language: str):
        self.table = PHRASES.get(language_code(language), PHRASES["en"])
        self.elides = self.table is PHRASES["fr"]

    def fill(self, form: str, **values: object) -> str:
        """The form with its values put in; in French "de" before a vowel elided ("d'Adoption de l'ordre du jour")."""
        if self.elides:
            form = re.sub(r"\b([Dd])e \{(\w+)\}", lambda m: f"{m[1]}'{{{m[2]}}}" if _VOWEL.match(str(values[m[2]]))
                          else m[0], form)
        return form.format(**values)

    def listing(self, topics: list[str]) -> str:
        """"a, b and c" in the language."""
        topics = [t for t in topics if t]
        if len(topics) <= 1:
            return "".join(topics)
        return f"{', '.join(topics[:-1])} {self.table['and']} {topics[-1]}"

    def welcome(self, title: str, topics: list[str]) -> str:
        """The welcome and the plan: up to MAX_PLANNED topics by name, more as their span ("from A to B")."""
        text = self.fill(self.table["welcome"], title=title)
        if len(topics) > MAX_PLANNED:
            text += " " + self.fill(self.table["plan_span"], n=len(topics), first=topics[0], last=topics[-1])
        elif topics and self.listing(topics) != title:  # a notebook's title already lists its sources, its topics
            text += " " + self.fill(self.table["plan_one" if len(topics) == 1 else "plan"], topics=self.listing(topics))
        return _stops(text)

    def opening(self) -> str:
        return self.table["opening"]

    def transition(self, n: int, topic: str) -> str:
        """The host's line that opens the n-th topic (0-based); the first topic always gets the first form."""
        forms = self.table["transitions"]
        return self.fill(forms[0] if n == 0 else forms[1 + (n - 1) % (len(forms) - 1)], topic=topic)

    def question(self, n: int, first: bool = False) -> str:
        """A plain question for when the model's question cannot be used; rotated so none repeats back to back. The
        first of a topic asks what it says, not what else ("Now, Introduction. What else is there?")."""
        forms = self.table.get("first_questions", PHRASES["en"]["first_questions"]) if first else \
            self.table["questions"]
        return forms[n % len(forms)]

    def about(self, n: int, term: str) -> str:
        """A question naming what the answer is about (stages/focus.py); rotated like the plain ones."""
        forms = self.table.get("about") or PHRASES["en"]["about"]
        return self.fill(forms[n % len(forms)], term=term)

    def recap(self, title: str, topics: list[str]) -> str:
        """The close names the span of the episode, not the whole list again (the welcome said it)."""
        if not topics:
            return _stops(self.fill(self.table["recap_none"], title=title))
        if len(topics) == 1:
            return _stops(self.fill(self.table["recap_one"], title=title, topic=topics[0]))
        return _stops(self.fill(self.table["recap"], title=title, first=topics[0], last=topics[-1]))

    def links(self) -> str:
        """The title of a notebook's segment on the themes its sources share."""
        return self.table["links"]

    def link_first(self, theme: str, first: str, second: str) -> str:
        return _stops(self.fill(self.table["link_first"], theme=theme, first=first, second=second))

    def link_second(self, theme: str, second: str) -> str:
        return _stops(self.fill(self.table["link_second"], theme=theme, second=second))

    def goodbye(self) -> str:
        return self.table["goodbye"]


_VOWEL = re.compile(r"[aeiouyàâäéèêëîïôöûüœæ]", re.IGNORECASE)


def _stops(text: str) -> str:
    """One stop where a title ending in "?" meets the template's ".": "... Why Bother?." -> "... Why Bother?"."""
    return re.sub(r"([.?!])\.", r"\1", text)
