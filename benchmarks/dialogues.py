"""Conversations for the gold set (benchmarks/goldset.py): multi-session dialogues between pairs
of people over months, one memory per turn ("Ana: We finally moved to Lisbon last Friday!"),
each remembered at its turn's time, with questions whose evidence turns are known:

  single-hop  "What does Ben's daughter play?"          the turn where Ben says so
  temporal    "When did Ana move to Lisbon?"            the turn that dates it ("last Friday"),
                                                        among turns naming Ana and Lisbon undated
  two-hop     "What did Ana's brother adopt?"           a turn by the other speaker about the
                                                        brother by name, which only an earlier
                                                        turn ("my brother Tiago") ties to Ana

Like benchmarks/lookalikes.py, in two halves with disjoint speakers, fact templates, chit-chat
and relative-date phrasings: TUNING and HELD_OUT (scored only at the end). Seeded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lookalikes import FIRST, HALVES, HELD_OUT, TUNING

START = datetime(2024, 1, 8, 18, 0, tzinfo=UTC)
SESSIONS = 12  # per pair, two to five weeks apart
CHAT_PER_SESSION = 20  # chit-chat turns per session, besides the facts
CITIES = [
    "Lisbon",
    "Porto",
    "Valencia",
    "Lyon",
    "Ghent",
    "Bergen",
    "Krakow",
    "Turin",
    "Seville",
    "Graz",
    "Aarhus",
    "Split",
]
COMPANIES = [
    "Brightloop",
    "Quillwork",
    "Tidewell",
    "Northpine",
    "Corvex",
    "Luma",
    "Halden",
    "Stratos",
]
# One sibling (or best friend) per speaker, never another speaker's, nor a name of the other
# half: with names shared, "What did Ana's brother adopt?" had several right answers.
SIBLINGS = {
    TUNING: [
        "Tiago",
        "Rui",
        "Lukas",
        "Bram",
        "Tomasz",
        "Emil",
        "Mateo",
        "Jonas",
        "Stefan",
        "Henrik",
        "Arjun",
        "Yusuf",
        "Dario",
        "Kenji",
        "Piet",
        "Anton",
        "Sven",
        "Ivo",
        "Lorenzo",
        "Hugo",
    ],
    HELD_OUT: [
        "Ines",
        "Elif",
        "Saoirse",
        "Noor",
        "Anouk",
        "Freya",
        "Ingrid",
        "Leila",
        "Zofia",
        "Maren",
        "Aiko",
        "Chiara",
        "Dagny",
        "Yara",
        "Oona",
        "Mirela",
        "Katya",
        "Lucia",
        "Signe",
        "Astrid",
    ],
}
# Sibling names were once drawn from twelve: that draw is kept, so every other slot stays as seeded.
_OLD_SIBLING_DRAW = list(range(12))
PETS = ["beagle", "tabby kitten", "parrot", "greyhound", "pair of rabbits", "tortoise"]
RELATIVE = {  # how a fact's turn dates it, against the turn's own time
    TUNING: ["last Friday", "two weeks ago", "yesterday", "three days ago", "last week"],
    HELD_OUT: ["last Tuesday", "10 days ago", "a week ago", "last month", "four days ago"],
}
# Facts: (turns, question, kind). Turns are (who, text): "s" the subject, "o" the other speaker;
# the last turn holds the answer. {c} city, {k} company, {b} sibling, {a} pet, {r} relative date.
FACTS = {
    TUNING: [
        (
            [("s", "We finally moved to {c} {r}!")],
            "When did {s} move to {c}?",
            "temporal",
        ),
        (
            [("s", "I started my new job at {k} {r}.")],
            "When did {s} start at {k}?",
            "temporal",
        ),
        (
            [("s", "My daughter plays the {i} now, she practises every evening.")],
            "What does {s}'s daughter play?",
            "single-hop",
        ),
        (
            [("s", "After the half marathon I will {plan}.")],
            "What will {s} do after the half marathon?",
            "single-hop",
        ),
        (
            [
                ("s", "My brother {b} lives near the old harbour."),
                ("o", "I saw {b} at the vet, he adopted a {a}."),
            ],
            "What did {s}'s brother adopt?",
            "two-hop",
        ),
    ],
    HELD_OUT: [
        (
            [("s", "We bought a flat in {c} {r}.")],
            "When did {s} buy a flat in {c}?",
            "temporal",
        ),
        (
            [("s", "I handed in my notice at {k} {r}.")],
            "When did {s} hand in the notice at {k}?",
            "temporal",
        ),
        (
            [("s", "My son is learning {i} at school this year.")],
            "What is {s}'s son learning at school?",
            "single-hop",
        ),
        (
            [("s", "Once the kitchen renovation is done we will {plan}.")],
            "What will {s} do once the kitchen renovation is done?",
            "single-hop",
        ),
        (
            [
                ("s", "My best friend {b} works nights at the hospital."),
                ("o", "{b} told me she is moving to {c2} in spring."),
            ],
            "Where is {s}'s best friend moving?",
            "two-hop",
        ),
    ],
}
INSTRUMENTS = {
    TUNING: ["cello", "violin", "flute", "trumpet", "harp"],
    HELD_OUT: ["Japanese", "coding", "fencing", "Latin", "pottery"],
}
PLANS = {
    TUNING: [
        "take a week off in Madeira",
        "sleep for two days",
        "start climbing again",
        "visit my parents in Gdansk",
        "sign up for a triathlon",
    ],
    HELD_OUT: [
        "throw a housewarming party",
        "adopt a dog",
        "host a dinner for the team",
        "invite the neighbours over",
        "finally repaint the hallway",
    ],
}
# Mentions without a date: they share the question's words, not its answer.
# Later mentions of a dated fact: the same people, place or company, and mostly no date (one
# names another time): a conversation comes back to a move or a new job again and again.
ECHOES = {
    TUNING: {
        "When did {s} move to {c}?": [
            ("o", "How do you like {c}, {s}?"),
            ("s", "{c} is lovely, but I miss my old neighbours."),
            ("s", "The move to {c} was exhausting."),
            ("s", "We are still unpacking boxes in {c}."),
            ("o", "Send me photos of {c}!"),
            ("s", "Moving to {c} was the best decision we made."),
            ("s", "Our new place in {c} finally has internet since last week."),
        ],
        "When did {s} start at {k}?": [
            ("o", "Is {k} treating you well?"),
            ("s", "My team at {k} is great."),
            ("s", "Starting at {k} meant a longer commute."),
            ("s", "{k} has a nice canteen."),
            ("o", "Do they pay well at {k}?"),
            ("s", "The first month at {k} was a blur."),
        ],
    },
    HELD_OUT: {
        "When did {s} buy a flat in {c}?": [
            ("o", "How is the flat in {c}?"),
            ("s", "The flat in {c} needs a new boiler."),
            ("s", "Buying in {c} was stressful."),
            ("o", "Is the flat in {c} close to the sea?"),
            ("s", "We are painting the flat in {c} this month."),
            ("s", "Our flat in {c} gets the morning sun."),
        ],
        "When did {s} hand in the notice at {k}?": [
            ("o", "Was it hard to leave {k}?"),
            ("s", "My last weeks at {k} were calm."),
            ("s", "Handing in the notice at {k} felt strange."),
            ("s", "{k} offered me a raise to stay."),
            ("o", "What did your boss at {k} say about the notice?"),
        ],
    },
}
# Chit-chat: each template with one of the fillers ({x}), so turns rarely repeat.
CHAT = {
    TUNING: [
        "Work has been busy, mostly {x}.",
        "Did you watch the {x} on Sunday?",
        "I have been baking {x} again.",
        "The weather here is terrible for {x}.",
        "My daughter wants {x} for her birthday.",
        "We should grab coffee and talk about {x}.",
        "I am reading a great novel about {x}.",
        "The traffic this morning was awful near the {x}.",
        "I finally fixed my {x}.",
        "My brother called me about the {x} yesterday.",
        "Have you tried the new {x} place?",
        "I need a holiday away from {x}.",
    ],
    HELD_OUT: [
        "My son has a cold again, no {x} this week.",
        "The office {x} broke again.",
        "We are thinking about a road trip to see {x}.",
        "I started {x} in the mornings.",
        "The {x} last night was loud.",
        "My best friend sends her regards from the {x}.",
        "I cannot stop watching that show about {x}.",
        "Our neighbours are renovating their {x}.",
        "The train was late twice this week, {x} again.",
        "I am learning to make {x}.",
        "We had a lovely picnic by the {x}.",
        "The garden finally has {x}.",
    ],
}
FILLERS = [
    "sourdough",
    "football",
    "sailors",
    "the lake",
    "pasta",
    "dumplings",
    "the museum",
    "budget reviews",
    "jazz",
    "the old bridge",
    "a new bike",
    "board games",
    "tennis",
    "the market",
    "pancakes",
    "the river",
    "a cooking class",
    "lighthouses",
    "chess",
    "photography",
    "the castle",
    "curry",
    "the mountains",
    "yoga",
    "pizza",
    "the festival",
    "gardening",
    "the printer",
    "swimming",
    "poetry",
    "the harbour",
    "tacos",
    "a puzzle",
    "the stadium",
    "ramen",
]

# The tuning half as hard as real talk is (2026-12-06): the words of its answers come up in
# other turns too ("a neighbour adopted a cat", "the band that plays at ..."; never all of a
# question's words, which would leave nothing to tell the answer by), other turns are
# dated too ("two weeks ago we went to ..."), sessions are longer, and a sibling is named in
# passing more than once. These turns come from a generator of their own and are slotted in
# after every other draw, so the held-out half, which has none, stays exactly as it was.
LIFE = {
    TUNING: [
        "A neighbour adopted a stray cat, it sleeps on {x} all day.",
        "I saw an old friend at the vet this morning, we talked about {x}.",
        "My brother thinks {x} is overrated.",
        "We moved the chat about {x} to Thursday.",
        "The band that plays at {x} is great.",
        "I started a list of ideas about {x}.",
        "I ran a marathon once, never again, too much {x}.",
        "I started {x} lessons last week.",
        "Two weeks ago we went to see {x}.",
        "After {x} I will finally rest.",
        "My new job leaves no time for {x}.",
    ],
    HELD_OUT: [],
}
LIFE_PER_SESSION = 8  # such turns per session, besides the chit-chat
MENTIONS = {  # each speaker's sibling, named in passing in their conversation
    TUNING: [
        ("s", "{b} came over for dinner on Sunday."),
        ("o", "Say hi to {b} from me!"),
        ("s", "{b} wants to visit {c} this summer."),
    ],
    HELD_OUT: [],
}


@dataclass(frozen=True)
class Asked:
    text: str
    answer: str  # the turn holding the answer
    kind: str  # single-hop, temporal, two-hop
    half: str
    evidence: tuple[str, ...] = ()


@dataclass
class Dialogues:
    turns: list[tuple[int, str]] = field(default_factory=list)  # (epoch ms, "Speaker: text")
    questions: list[Asked] = field(default_factory=list)


def _pairs(half: str, rng: random.Random) -> list[tuple[str, str]]:
    """A ring: every speaker talks with the one before and the one after."""
    speakers = list(FIRST[half])
    rng.shuffle(speakers)
    return [(speakers[i], speakers[(i + 1) % len(speakers)]) for i in range(len(speakers))]


def _slots(half: str, rng: random.Random, subject: str, other: str, sibling: str) -> dict[str, str]:
    slots = {
        "s": subject,
        "o": other,
        "c": rng.choice(CITIES),
        "c2": rng.choice(CITIES),
        "k": rng.choice(COMPANIES),
    }
    rng.choice(_OLD_SIBLING_DRAW)  # where a sibling was drawn: the later slots stay as seeded
    return slots | {
        "b": sibling,
        "a": rng.choice(PETS),
        "i": rng.choice(INSTRUMENTS[half]),
        "plan": rng.choice(PLANS[half]),
        "r": rng.choice(RELATIVE[half]),
    }


def _chat(half: str, rng: random.Random, pair: tuple[str, str]) -> str:
    return f"{rng.choice(pair)}: {rng.choice(CHAT[half]).format(x=rng.choice(FILLERS))}"


Sessions = dict[tuple[int, int], list[str]]  # (pair, session) -> its turns


def build(seed: int = 13) -> Dialogues:
    """Every half's dialogues and questions: each speaker tells each fact template once, in one
    of their conversations, at a random session; a two-hop fact's second turn comes a session
    later, from the other speaker."""
    rng = random.Random(seed)
    aside = random.Random(seed + 1)  # LIFE and MENTIONS: draws that leave `rng`'s alone
    out = Dialogues()
    for half in HALVES:
        pairs = _pairs(half, rng)
        sessions, asides = _facts(half, rng, aside, pairs, out)
        _talk(half, (rng, aside), pairs, (sessions, asides), out)
    out.turns.sort()
    return out


def _facts(
    half: str,
    rng: random.Random,
    aside: random.Random,
    pairs: list[tuple[str, str]],
    out: Dialogues,
) -> tuple[Sessions, Sessions]:
    """Each speaker's facts, their echoes and (in `asides`) the passing mentions of their
    sibling, by session; the questions about the facts go to `out`."""
    sessions: Sessions = {}
    asides: Sessions = {}
    siblings = dict(zip(FIRST[half], SIBLINGS[half], strict=True))
    told: set[str] = set()
    for index, (a, b) in enumerate(pairs):
        for subject, other in ((a, b), (b, a)):
            if subject in told:
                continue
            told.add(subject)
            for turns, ask, kind in FACTS[half]:
                slots = _slots(half, rng, subject, other, siblings[subject])
                first = rng.randrange(SESSIONS - len(turns))
                said = []
                for step, (who, text) in enumerate(turns):
                    said.append(f"{slots[who]}: {text.format(**slots)}")
                    sessions.setdefault((index, first + step), []).append(said[-1])
                for who, echo in ECHOES[half].get(ask, ()):
                    later = rng.randrange(first + 1, SESSIONS)
                    sessions.setdefault((index, later), []).append(
                        f"{slots[who]}: {echo.format(**slots)}"
                    )
                out.questions.append(Asked(ask.format(**slots), said[-1], kind, half, tuple(said)))
            slots = {"s": subject, "o": other, "b": siblings[subject], "c": aside.choice(CITIES)}
            for who, text in MENTIONS[half]:
                line = f"{slots[who]}: {text.format(**slots)}"
                asides.setdefault((index, aside.randrange(SESSIONS)), []).append(line)
    return sessions, asides


def _talk(
    half: str,
    rngs: tuple[random.Random, random.Random],
    pairs: list[tuple[str, str]],
    said: tuple[Sessions, Sessions],
    out: Dialogues,
) -> None:
    """Every session of every pair, two minutes a turn: its facts and chit-chat in `rng`'s
    order, then the asides and LIFE turns slotted in by `aside`."""
    rng, aside = rngs
    sessions, asides = said
    for index, (a, b) in enumerate(pairs):
        day = START + timedelta(days=rng.randrange(0, 21) + index)
        for session in range(SESSIONS):
            lines = list(sessions.get((index, session), []))
            lines += [_chat(half, rng, (a, b)) for _ in range(CHAT_PER_SESSION)]
            rng.shuffle(lines)
            more = list(asides.get((index, session), []))
            if LIFE[half]:
                more += [_life(half, aside, (a, b)) for _ in range(LIFE_PER_SESSION)]
            for line in more:
                lines.insert(aside.randrange(len(lines) + 1), line)
            for minute, line in enumerate(lines):
                out.turns.append(
                    (int((day + timedelta(minutes=2 * minute)).timestamp() * 1000), line)
                )
            day += timedelta(days=rng.randrange(14, 36))


def _life(half: str, rng: random.Random, pair: tuple[str, str]) -> str:
    return f"{rng.choice(pair)}: {rng.choice(LIFE[half]).format(x=rng.choice(FILLERS))}"
