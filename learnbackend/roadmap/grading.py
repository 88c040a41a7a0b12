"""Presenting questions (shuffled) and grading responses, forgivingly where it is fair.

A response is what the learner chose, by content: the choice text for single
choice, a list of choice texts for multiple choice, the items in the learner's
order for ordering, and a string for free text. :func:`parse_response` turns
typed input (letters, numbers, texts) into a response.
"""

from __future__ import annotations

import difflib
import random
import re
import unicodedata
from dataclasses import dataclass, field

from learnbackend.course.models import FreeText, MultipleChoice, Ordering, SingleChoice
from learnbackend.errors import UsageError

QuestionT = SingleChoice | MultipleChoice | Ordering | FreeText
Response = str | list[str]

#: Similarity above which a free-text answer with a typo is accepted.
TYPO_RATIO = 0.85


@dataclass(frozen=True)
class Presented:
    """A question as shown to the learner: its options in their shuffled order."""

    qid: str
    lesson_id: str
    branch: str
    question: QuestionT
    options: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.question.kind


@dataclass(frozen=True)
class Feedback:
    """The grade of one response, with what to show the learner."""

    qid: str
    correct: bool
    score: float
    given: str
    expected: str
    explanation: str
    notes: list[str] = field(default_factory=list)
    #: Multiple choice: the options picked and the right ones (the feedback names them by letter).
    picked: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"id": self.qid, "correct": self.correct, "score": round(self.score, 3),
                "given": self.given, "expected": self.expected}


def present(qid: str, lesson_id: str, branch: str, question: QuestionT, rng: random.Random) -> Presented:
    """Shuffle the choices (or items) with ``rng``; ordering items never start in order."""
    options: list[str] = []
    if isinstance(question, (SingleChoice, MultipleChoice)):
        options = list(question.choices)
        rng.shuffle(options)
    elif isinstance(question, Ordering):
        options = list(question.items)
        while options == list(question.items):
            rng.shuffle(options)
    return Presented(qid, lesson_id, branch, question, tuple(options))


def normalize(text: str) -> str:
    """Fold case, accents, punctuation, articles and spacing; keep + and # (C++, C#)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[^\w+#]+", " ", text)
    words = [w for w in text.split() if w not in ("the", "a", "an")]
    return " ".join(words)


#: Words that name the kind of answer rather than the answer: "the N+1 queries problem" is "N+1 queries".
_FILLER = frozenset({"problem", "issue", "pattern", "antipattern"})
#: Words that may precede a status code: "HTTP 502" and "status 502" are "502".
_CODE_PREFIX = frozenset({"http", "status", "code", "error"})


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def answer_key(text: str) -> str:
    """:func:`normalize`, then fold plurals, drop filler words and a prefix before a status code."""
    words = normalize(text).split()
    while len(words) > 1 and words[0] in _CODE_PREFIX and re.fullmatch(r"\d{3}", words[1]):
        words = words[1:]
    kept = [w for w in words if w not in _FILLER] or words
    return " ".join(_singular(w) for w in kept)


def text_matches(given: str, accepted: list[str]) -> bool:
    """True if ``given`` matches an accepted answer, allowing small typos in words (not in numbers)."""
    g = answer_key(given)
    if not g:
        return False
    for answer in accepted:
        a = answer_key(answer)
        if g == a or g.rstrip("s") == a.rstrip("s"):
            return True
        if any(ch.isdigit() for ch in a) or len(a) < 5:
            continue  # numbers and short words must be exact: 403 is not 404
        if difflib.SequenceMatcher(None, g, a).ratio() >= TYPO_RATIO:
            return True
    return False


def grade(presented: Presented, response: Response) -> Feedback:
    """Grade one response; ``score`` gives partial credit for multiple choice and ordering."""
    q = presented.question
    if isinstance(q, SingleChoice):
        given = str(response)
        ok = given == q.answer
        return Feedback(presented.qid, ok, float(ok), given, q.answer, q.explanation)
    if isinstance(q, MultipleChoice):
        picked = set(response if isinstance(response, list) else [response])
        right = set(q.answers)
        hits, wrong = len(picked & right), len(picked - right)
        score = max(0.0, (hits - wrong) / len(right))
        ok = picked == right
        notes = []
        if not ok:
            if right - picked:
                notes.append("Missed: " + "; ".join(sorted(right - picked)))
            if picked - right:
                notes.append("Should not be picked: " + "; ".join(sorted(picked - right)))
        return Feedback(presented.qid, ok, 1.0 if ok else score, "; ".join(sorted(picked)) or "(nothing)",
                        "; ".join(q.answers), q.explanation, notes, picked=sorted(picked), right=list(q.answers))
    if isinstance(q, Ordering):
        order = list(response) if isinstance(response, list) else [response]
        ok = order == list(q.items)
        # Partial credit: the share of neighbouring pairs that are in the right order.
        pos = {item: i for i, item in enumerate(order)}
        pairs = list(zip(q.items, q.items[1:], strict=False))
        good = sum(1 for a, b in pairs if a in pos and b in pos and pos[a] < pos[b])
        return Feedback(presented.qid, ok, 1.0 if ok else good / len(pairs), " → ".join(order),
                        " → ".join(q.items), q.explanation)
    assert isinstance(q, FreeText)
    given = str(response)
    ok = text_matches(given, list(q.accept))
    return Feedback(presented.qid, ok, float(ok), given, q.accept[0], q.explanation)


def _pick(raw: str, options: tuple[str, ...]) -> str:
    """One option by its text (case-insensitive), letter (a, b...) or 1-based number, in that order."""
    raw = raw.strip()
    for option in options:
        if option.casefold() == raw.casefold():
            return option
    if len(raw) == 1 and raw.isalpha() and ord(raw.lower()) - ord("a") < len(options):
        return options[ord(raw.lower()) - ord("a")]
    if raw.isdigit() and 1 <= int(raw) <= len(options):
        return options[int(raw) - 1]
    for option in options:
        if option.casefold() == raw.casefold() or normalize(option) == normalize(raw):
            return option
    letters = ", ".join(chr(ord("a") + i) for i in range(len(options)))
    raise UsageError(f"{raw!r} is not one of the options ({letters}).", fix="Answer with a letter, a number or the option's text.")


def _split(raw: str | list[str]) -> list[str]:
    if isinstance(raw, list):
        return [str(x) for x in raw]
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) == 1 and " " in raw.strip() and all(len(w) == 1 for w in raw.split()):
        parts = raw.split()  # "a c d"
    return [p for p in parts if p]


def parse_response(presented: Presented, raw: str | list[str]) -> Response:
    """Turn typed or scripted input into a response; raises UsageError if it names no option."""
    kind = presented.kind
    if kind == "text":
        return raw if isinstance(raw, str) else ", ".join(raw)
    if kind == "single":
        if isinstance(raw, list):
            if len(raw) != 1:
                raise UsageError("This question takes exactly one answer.")
            raw = raw[0]
        return _pick(raw, presented.options)
    picked = [_pick(part, presented.options) for part in _split(raw)]
    if kind == "order" and sorted(picked) != sorted(presented.options):
        raise UsageError(f"Give every item exactly once, in your order ({len(presented.options)} items).",
                         fix="For example: c, a, d, b")
    if kind == "multiple":
        if not picked:
            raise UsageError("Pick at least one option.")
        return list(dict.fromkeys(picked))
    return picked
