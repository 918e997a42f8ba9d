"""Seeded synthetic UK people and their duplicate records, with the truth about who is who.

Used by the matching benchmark, the 1.4 million-record scale test and the demo hospital. Nothing
here is real: names come from common UK name lists, addresses from invented streets on real
Greater Manchester postcode districts, NHS numbers from the 999 test range (valid check digit,
never issued).

People live in households, because the hard cases of a patient index are households: couples,
children, twins (same surname, date of birth and address), a father and son with the same name
(Jr/Sr), a married woman whose older records carry her maiden name. Each person gets one or more
records (about a third of people have duplicates, as in an old PAS), each record registered
with its own slips: typos, nicknames, forename/surname swapped, day/month swapped, one-digit
date typos, 01-01 placeholder dates, an old address (with or without the postcode history),
missing NHS number, unknown sex. "Namesakes" (another person with the same name and date of
birth) are added at the rate a city-sized index would have them: a person's chance is the
expected number of people sharing their forename, surname and date of birth in a population of
``namesake_population`` (1.4 million, Trafford's EPR), so John Smiths get namesakes and
Zbigniew Ackworths do not.

The generator's own nickname list deliberately differs from the matcher's table
(``mpi/matching/data/nicknames.csv``): real clerks type nicknames no table has (Kaz, Gaz, Debs).

Run ``python -m bench.synthetic_people --records 100000 --out people.csv`` to write a file.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from mpi.matching.record import PersonRecord
from mpi.nhs_number import check_digit

__all__ = [
    "DEFAULT_RATES",
    "ErrorRates",
    "Person",
    "SyntheticDataset",
    "generate",
    "generate_people",
    "main",
]

# ---------------------------------------------------------------------------------------------
# Name and place data. Weights are relative frequencies, roughly as in England and Wales.

_SURNAMES_TEXT = """
Smith 126 Jones 80 Williams 60 Taylor 50 Brown 50 Davies 45 Evans 36 Wilson 33 Thomas 32
Johnson 30 Roberts 30 Robinson 25 Thompson 25 Wright 25 Walker 24 White 23 Edwards 22 Hughes 22
Green 21 Hall 21 Lewis 20 Harris 20 Clarke 20 Patel 20 Jackson 19 Wood 19 Turner 18 Martin 18
Cooper 18 Hill 17 Ward 17 Morris 17 Moore 17 Clark 16 Lee 16 King 16 Baker 16 Harrison 16
Morgan 15 Allen 15 James 15 Scott 15 Phillips 14 Watson 14 Davis 14 Parker 13 Price 13
Bennett 13 Young 13 Griffiths 13 Mitchell 13 Kelly 13 Cook 13 Carter 12 Richardson 12 Bailey 12
Collins 12 Bell 12 Shaw 12 Murphy 12 Miller 11 Cox 11 Richards 11 Khan 11 Marshall 11
Anderson 11 Simpson 11 Ellis 11 Adams 11 Singh 10 Begum 10 Wilkinson 10 Foster 10 Chapman 10
Powell 10 Webb 10 Rogers 10 Gray 10 Mason 10 Ali 10 Hunt 10 Hussain 10 Campbell 10 Matthews 10
Owen 10 Palmer 9 Holmes 9 Mills 9 Barnes 9 Knight 9 Lloyd 9 Butler 9 Russell 9 Barker 9
Fisher 9 Stevens 9 Jenkins 9 Murray 9 Dixon 9 Harvey 9 Graham 8 Pearson 8 Ahmed 8 Fletcher 8
Walsh 8 Kaur 8 Gibson 8 Howard 8 Andrews 8 Stewart 8 Elliott 8 Reynolds 8 Saunders 8 Payne 8
Fox 7 Ford 7 Pearce 7 Day 7 Brooks 7 West 7 Lawrence 7 Cole 7 Atkinson 7 Bradley 7 Spencer 7
Gill 7 Dawson 7 Ball 7 Burton 7 O'Brien 7 Watts 7 Rose 7 Booth 7 Perry 7 Ryan 7 Grant 6
Wells 6 Armstrong 6 Francis 6 Rees 6 Hayes 6 Hart 6 Hudson 6 Newman 6 Barrett 6 Webster 6
Hunter 6 Gregory 6 Carr 6 Lowe 6 Page 6 Marsh 6 Riley 6 Dunn 6 Woods 6 Parsons 6 Berry 6
Stone 6 Reid 6 Holland 6 Hawkins 6 Harding 6 Porter 6 Robertson 6 Newton 6 Oliver 6 Reed 6
Kennedy 6 Williamson 6 Bird 6 Gardner 6 Shah 6 Dean 5 Lane 5 Cooke 5 Bates 5 Henderson 5
Parry 5 Burgess 5 Bishop 5 Walton 5 Burns 5 Nicholson 5 Shepherd 5 Ross 5 Cross 5 Long 5
Freeman 5 Warren 5 Nicholls 5 Hamilton 5 Byrne 5 Sutton 5 McDonald 5 Yates 5 Hodgson 5
Robson 5 Curtis 5 Hopkins 5 O'Connor 5 Harper 5 Coleman 5 Watkins 5 Moss 5 McCarthy 5
Chambers 5 O'Neill 5 Griffin 5 Sharp 5 Hardy 5 Wheeler 5 Potter 5 Osborne 5 Johnston 5
Gordon 5 Doyle 5 Wallace 5 George 5 Jordan 5 Hutchinson 5 Rowe 5 Burke 5 May 5 Pritchard 4
Gilbert 4 Willis 4 Higgins 4 Read 4 Miles 4 Stevenson 4 Stephenson 4 Hammond 4 Arnold 4
Buckley 4 Walters 4 Hewitt 4 Barber 4 Nelson 4 Slater 4 Austin 4 Sullivan 4 Whitehead 4
Mann 4 Frost 4 Lambert 4 Stephens 4 Blake 4 Akhtar 4 Lynch 4 Goodwin 4 Barton 4 Woodward 4
Thomson 4 Cunningham 4 Quinn 4 Barnett 4 Baxter 4 Bibi 4 Clayton 4 Nash 4 Greenwood 4
Jennings 4 Holt 4 Kemp 4 Poole 4 Gallagher 4 Bond 4 Stokes 4 Tucker 4 Davidson 4 Fowler 4
Heath 4 Norman 4 Middleton 4 Lawson 4 Banks 4 French 4 Stanley 4 Jarvis 4 Gibbs 4 Ferguson 4
Hayward 4 Carroll 4 Farrell 4 Duncan 4 Iqbal 4 Mahmood 3 Rahman 3 Chowdhury 3 Nowak 3
Kowalski 3 Wong 3 Chen 3 Li 3 Nguyen 3 Okafor 3 Mensah 3 Adeyemi 3 Kaplan 2 Müller 2
Szabó 2 Fernández 2 Da Silva 2 MacDonald 3 MacKenzie 2 McLean 2 O'Reilly 2 O'Sullivan 2
D'Souza 2 Smith-Jones 1 Taylor-Brown 1
"""

_TAIL_PREFIXES = (
    "Ash Brad Brom Butter Clay Crom Dun Earn Fair Green Hale Hey Holl Kirk Lang Mars Mid Nor Ock "
    "Pen Rad Rams Roth Salt Shel Stan Thorn Tod Wal War Whit Wins Wood Bar Black Cal Chad Dal "
    "Eld Farn Glad Ham Hart Lin Mal Mor New Old Pres Ross Rush Sand Sed Ship Stock Sud Tat Thurl "
    "Up Wad Wen Wes Wick Wil Yard Ack Bir Brind Cart Crad Ding Ever Fen Gos Hazel Ing Knott Leigh "
    "Lox Mel Nether Pick Quar Ribb Scar Sker Sow Thack Wain"
).split()
_TAIL_CONNECTORS = ("", "e", "er", "ing", "s", "en")
_TAIL_SUFFIXES = (
    "ley ton worth field ham by well wood shaw hurst dale more ford bury cliffe stone thorpe wick "
    "den croft land brook"
).split()

# Forenames by sex and birth era: (born before 1950, 1950-79, 1980-99, 2000 on).
_FORENAMES = {
    "M": (
        "John William George Thomas James Arthur Frederick Albert Charles Robert Harold Ernest "
        "Joseph Alfred Henry Walter Edward Frank Leonard Stanley Kenneth Ronald Dennis Peter "
        "Raymond Donald Eric Norman Douglas Herbert Sidney Reginald Cyril Leslie Gordon Roy Jack "
        "Bernard Derek Harry Brian Alan Geoffrey Patrick",
        "David John Paul Michael Mark Stephen Andrew Peter Robert Ian Richard Gary Anthony "
        "Christopher Steven Alan Kevin Martin Philip Graham Brian Keith Colin Neil Simon Nigel "
        "Trevor Barry Timothy Jonathan Darren Wayne Lee Dean Craig Jason Shaun Carl Terence "
        "Geoffrey Malcolm Raymond Dennis Francis Patrick William James Thomas Tariq",
        "Daniel Matthew James Christopher Thomas David Andrew Michael Adam Richard Robert Mark "
        "Ryan Luke Jamie Craig Lee Stephen Paul Jonathan Benjamin Samuel Joseph Nathan Liam Scott "
        "Ashley Gareth Carl Ricky Dean Kieran Sean Jack Alexander Joshua Oliver Mohammed Jordan "
        "Aaron Callum Connor Kyle Imran Piotr",
        "Oliver Jack Harry George Noah Charlie Jacob Alfie Freddie Oscar Leo Thomas Joshua James "
        "William Mohammed Muhammad Ethan Archie Henry Joseph Samuel Max Logan Lucas Daniel Isaac "
        "Dylan Riley Theo Arthur Alexander Adam Finley Harrison Jayden Sebastian Teddy Toby Louie "
        "Reuben Jake Tyler Kai Luca Ryan Aiden Elijah Zain Ayaan",
    ),
    "F": (
        "Margaret Mary Joan Dorothy Doris Elizabeth Irene Kathleen Edna Winifred Florence Lilian "
        "Ivy Elsie Hilda Gladys Ethel Marjorie Vera Betty Jean Eileen Patricia Barbara Sheila "
        "Joyce Phyllis Audrey Evelyn Mabel Edith Alice Annie Rose Nora Beryl Brenda Shirley "
        "Sylvia Iris Violet Ada Emily",
        "Susan Linda Christine Margaret Janet Patricia Carol Elizabeth Mary Anne Jacqueline Julie "
        "Karen Deborah Sandra Gillian Lesley Alison Jennifer Sarah Helen Nicola Tracey Amanda "
        "Joanne Lisa Michelle Dawn Angela Catherine Wendy Pauline Jane Diane Lorraine Kathryn "
        "Valerie Maureen Denise Beverley Sharon Kim Theresa Rosemary Jean Shirley Judith Claire "
        "Nasreen",
        "Sarah Laura Gemma Emma Rebecca Claire Victoria Samantha Rachel Amy Jennifer Nicola Kelly "
        "Charlotte Hannah Stacey Lauren Katie Natalie Danielle Kerry Lisa Jessica Amanda Sophie "
        "Zoe Jade Louise Leanne Hayley Stephanie Kirsty Michelle Chloe Catherine Helen Joanne "
        "Emily Katherine Elizabeth Siân Aisha Fatima Natasha Abigail Agnieszka",
        "Olivia Amelia Isla Ava Emily Sophia Grace Mia Poppy Ella Lily Evie Isabella Sophie Ivy "
        "Freya Harper Willow Isabelle Florence Chloe Jessica Daisy Charlotte Alice Phoebe Ruby "
        "Evelyn Sienna Matilda Zara Maya Eva Emma Holly Millie Rosie Erin Layla Maryam Aisha Zoë "
        "Esmé Chloé Hannah Scarlett Lucy Amy Ayesha",
    ),
}
# Rarer forenames of any era, with the era lists themselves forming the tail of each era:
# in England a cohort's top 45 names cover only about 60% of its births.
_EXTRA_FORENAMES = {
    "M": (
        "Abdul Adrian Alistair Ahmed Aidan Alfie Angus Anthony Arjun Barnaby Bartosz Bilal Bruce "
        "Calum Cameron Ciaran Clive Conor Damian Declan Dominic Duncan Eamon Edwin Elliot Emmanuel "
        "Euan Fergus Gavin Glen Gregory Guy Hamish Hassan Howard Hugh Ibrahim Ivan Jeremy Jerome "
        "Julian Kamran Karl Kenneth Kwame Lewis Malik Marcus Martyn Maurice Miles Milo Morgan "
        "Nathaniel Nicholas Niall Omar Owen Pawel Quentin Rhys Rory Rupert Russell Stanley "
        "Stuart Tobias Tomasz Victor Vincent Warren Yusuf Zachary"
    ),
    "F": (
        "Abigail Adele Aimee Alexandra Alisha Amber Amelie Annabel Antonia Ava Beatrice Bethany "
        "Bridget Caitlin Carly Cerys Chantelle Clara Colleen Courtney Cressida Daphne Delia "
        "Dominika Eleanor Elena Eloise Esther Faith Fiona Francesca Georgina Gwen Harriet Heidi "
        "Imogen Ingrid "
        "Isobel Jasmine Joanna Josephine Julia Kasia Keira Lara Leah Lydia Madeleine Marcia Megan "
        "Miriam Molly Naomi Niamh Nadia Orla Paige Penelope Philippa Priya Rhiannon Rita Roisin "
        "Rukhsana Sabrina Shabana Shannon Tamsin Tara Una Ursula Yasmin Yvonne Zainab"
    ),
}

_MIDDLE_NAMES = {
    "M": "James John William Thomas Edward Robert Michael David Paul Alexander Lee Anthony".split(),
    "F": "Jane Anne Louise Marie Elizabeth Mary Rose Ann Victoria Grace Jayne Margaret".split(),
}

# Nicknames as clerks type them: formal -> what the patient says. Not the matcher's table.
_NICKNAMES_TEXT = """
ROBERT: BOB ROB ROBBIE BOBBY | MARGARET: PEGGY MAGGIE MAGS | WILLIAM: BILL WILL BILLY
ELIZABETH: LIZ BETH BETTY LIZZIE LIBBY | JOHN: JACK JOHNNY | JAMES: JIM JIMMY JAMIE
RICHARD: RICK DICK RICHIE | EDWARD: TED EDDIE NED | HENRY: HARRY | CATHERINE: KATE CATH CATHY
KATHERINE: KATE KATIE | SUSAN: SUE SUZIE | ANTHONY: TONY ANT | ANDREW: ANDY DREW
ALEXANDER: ALEX SANDY XANDER | MICHAEL: MIKE MICK MICKY | DAVID: DAVE DAVY | STEPHEN: STEVE
STEVEN: STEVE | CHRISTOPHER: CHRIS KIT | CHRISTINE: CHRIS CHRISSY | NICHOLAS: NICK NICKY
PATRICK: PAT PADDY | PATRICIA: PAT TRISH | THOMAS: TOM TOMMY | DANIEL: DAN DANNY
SAMUEL: SAM | SAMANTHA: SAM SAMMIE | BENJAMIN: BEN | JOSEPH: JOE JOEY | JENNIFER: JEN JENNY
SARAH: SAL SALLY | FREDERICK: FRED FREDDIE | ALFRED: ALF | ALBERT: BERT | LEONARD: LEN
RONALD: RON | DONALD: DON | TERENCE: TEL TERRY | VALERIE: VAL | VICTORIA: VICKY TORI
DOROTHY: DOT DOTTY | KENNETH: KEN | PETER: PETE | PHILIP: PHIL | TIMOTHY: TIM
CHARLES: CHARLIE CHAS | OLIVER: OLLIE | REBECCA: BECKY BEX | DEBORAH: DEBBIE DEBS
KAREN: KAZ | SHARON: SHAZ | GARY: GAZ | BARRY: BAZ | NATASHA: TASH | NICOLA: NICKY NIKKI
JACQUELINE: JACKIE | AMANDA: MANDY | GILLIAN: GILL | MATTHEW: MATT | JONATHAN: JON JONNY
JOSHUA: JOSH | ABIGAIL: ABBY ABI | ISABELLA: IZZY BELLA | EMILY: EM MILLIE | MOHAMMED: MO
WINIFRED: WINNIE | MAUREEN: MO | FLORENCE: FLO | JESSICA: JESS | LOUISE: LOU
CHARLOTTE: CHARLIE LOTTIE | ELEANOR: ELLIE | HANNAH: HAN | STUART: STU | GERALD: GERRY
KATHLEEN: KATH | GEOFFREY: GEOFF | LESLIE: LES | RAYMOND: RAY | NORMAN: NORM | STANLEY: STAN
SIDNEY: SID | HAROLD: HARRY | EDITH: EDIE | BARBARA: BABS | SAMIRA: SAM
"""

_STREET_WORDS = (
    "Acre Albert Ash Beech Birch Bridge Brook Chapel Church Cross Derby Elm Gladstone Grange "
    "Green Hall Harrow High Hill Kings Lark Lime Manor Market Meadow Mill Moss Oak Park Queens "
    "Railway Rectory School Springfield Station Stretford Talbot Victoria Warwick Waterloo "
    "Wellington West Willow Windsor York Trafford Urmston Flixton Davyhulme Chester Barton "
    "Moorside Ashfield Primrose Thornfield Woodlands Hawthorn Cedar Poplar Rowan Heather Clover"
).split()
_STREET_TYPES = "Road Street Avenue Lane Close Drive Grove Crescent Way Gardens".split()
_STREET_ABBREVIATIONS = {
    "Road": "Rd",
    "Street": "St",
    "Avenue": "Ave",
    "Lane": "Ln",
    "Drive": "Dr",
    "Close": "Cl",
    "Crescent": "Cres",
}

# (outward code, town, weight): Trafford first, then the rest of Greater Manchester.
_DISTRICTS = (
    ("M41", "Urmston", 12),
    ("M32", "Stretford", 10),
    ("M33", "Sale", 12),
    ("WA14", "Altrincham", 10),
    ("WA15", "Altrincham", 8),
    ("M31", "Partington", 3),
    ("M16", "Old Trafford", 6),
    ("M17", "Trafford Park", 1),
    ("M15", "Hulme", 3),
    ("M20", "Didsbury", 3),
    ("M21", "Chorlton", 4),
    ("M14", "Fallowfield", 3),
    ("M8", "Cheetham Hill", 2),
    ("M9", "Blackley", 2),
    ("M11", "Openshaw", 2),
    ("M12", "Longsight", 2),
    ("M13", "Ardwick", 2),
    ("M18", "Gorton", 2),
    ("M19", "Levenshulme", 2),
    ("M22", "Wythenshawe", 3),
    ("M23", "Baguley", 2),
    ("M40", "Newton Heath", 2),
    ("M44", "Irlam", 2),
    ("M30", "Eccles", 3),
    ("M27", "Swinton", 2),
    ("M6", "Salford", 2),
    ("M7", "Salford", 2),
    ("M5", "Salford", 2),
    ("M50", "Salford Quays", 1),
    ("SK4", "Stockport", 2),
    ("SK3", "Stockport", 2),
    ("SK8", "Cheadle", 2),
    ("M34", "Denton", 1),
    ("M43", "Droylsden", 1),
    ("OL1", "Oldham", 1),
    ("BL1", "Bolton", 1),
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_KEYBOARD = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}
_RESPELLINGS = (
    ("ph", "f"),
    ("f", "ph"),
    ("y", "i"),
    ("i", "y"),
    ("ck", "k"),
    ("k", "c"),
    ("c", "k"),
    ("s", "z"),
    ("ie", "y"),
    ("ey", "y"),
    ("ll", "l"),
    ("nn", "n"),
    ("tt", "t"),
    ("ou", "o"),
    ("th", "t"),
    ("mm", "m"),
    ("ss", "s"),
    ("ee", "ea"),
)


def _weighted(text: str) -> tuple[list[str], list[float]]:
    tokens = text.split()
    names, weights = [], []
    # Pairs "Name weight"; names may contain a space (Da Silva): join tokens until a number.
    pending: list[str] = []
    for token in tokens:
        if token.isdigit():
            names.append(" ".join(pending))
            weights.append(float(token))
            pending = []
        else:
            pending.append(token)
    return names, weights


@dataclass(frozen=True)
class _Tables:
    """Cumulative weight tables built once per process."""

    surnames: list[str]
    surname_cum: list[float]
    surname_share: dict[str, float]
    forenames: dict[tuple[str, int], tuple[list[str], list[float]]]
    forename_share: dict[tuple[str, int], dict[str, float]]
    nicknames: dict[str, list[str]]
    districts: list[tuple[str, str]]
    district_cum: list[float]


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is not None:
        return _TABLES
    common, weights = _weighted(_SURNAMES_TEXT)
    # Weights are per 10,000 people (Smith 1.26%); the rest of the population gets a long tail
    # of invented toponymic surnames (about 11,000 of them, each rare, as most surnames are).
    known = set(common)
    tail = [
        name
        for name in (
            p + c + s for p in _TAIL_PREFIXES for c in _TAIL_CONNECTORS for s in _TAIL_SUFFIXES
        )
        if name not in known
    ]
    tail_weight = (10_000 - sum(weights)) / len(tail)
    surnames = common + tail
    surname_cum = list(itertools.accumulate(weights + [tail_weight] * len(tail)))
    surname_share: dict[str, float] = defaultdict(float)
    for name, weight in zip(surnames, weights + [tail_weight] * len(tail), strict=True):
        surname_share[name] += weight / surname_cum[-1]
    forenames = {}
    forename_share: dict[tuple[str, int], dict[str, float]] = {}
    for sex, eras in _FORENAMES.items():
        pool = sorted(
            {n for text in eras for n in text.split()} | set(_EXTRA_FORENAMES[sex].split())
        )
        for era, text in enumerate(eras):
            top = text.split()
            # Zipf-like: the era's list takes 60% of births, most popular first; the other 40%
            # spread over every name of that sex from any era.
            zipf = [1.0 / (rank + 1) ** 0.7 for rank in range(len(top))]
            scale = 0.6 / sum(zipf)
            names = top + pool
            shares = [z * scale for z in zipf] + [0.4 / len(pool)] * len(pool)
            forenames[(sex, era)] = (names, list(itertools.accumulate(shares)))
            total = sum(shares)
            share: dict[str, float] = defaultdict(float)
            for name, value in zip(names, shares, strict=True):
                share[name] += value / total
            forename_share[(sex, era)] = dict(share)
    nicknames: dict[str, list[str]] = {}
    for chunk in _NICKNAMES_TEXT.replace("\n", "|").split("|"):
        if ":" in chunk:
            formal, nicks = chunk.split(":")
            nicknames[formal.strip()] = nicks.split()
    districts = [(code, town) for code, town, _ in _DISTRICTS]
    district_cum = list(itertools.accumulate(w for _, _, w in _DISTRICTS))
    _TABLES = _Tables(
        surnames,
        surname_cum,
        dict(surname_share),
        forenames,
        forename_share,
        nicknames,
        districts,
        district_cum,
    )
    return _TABLES


def _pick(rng: random.Random, items: Sequence[str], cum: Sequence[float]) -> str:
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])]


# ---------------------------------------------------------------------------------------------
# People and households.


@dataclass(frozen=True)
class Address:
    line: str
    town: str
    postcode: str


@dataclass
class Person:
    """A synthetic person as they really are; records are noisy copies of this."""

    person_id: int
    given_names: str
    family_name: str
    dob: date
    sex: str
    address: Address
    household_id: int
    maiden_name: str | None = None
    nhs_number: str | None = None
    suffix: str | None = None
    tags: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ErrorRates:
    """Probabilities of each slip or life event, per record unless the name says otherwise."""

    duplicates: tuple[float, ...] = (0.70, 0.20, 0.07, 0.03)  # P(1, 2, 3, 4 records)
    forename_typo: float = 0.04
    surname_typo: float = 0.05
    nickname: float = 0.05
    initial_only: float = 0.01
    middle_name_used: float = 0.02
    middle_names_omitted: float = 0.25  # quick registrations take the first forename only
    names_transposed: float = 0.01
    dob_swap: float = 0.02
    dob_typo: float = 0.03
    dob_placeholder: float = 0.015
    dob_missing: float = 0.005
    old_address: float = 0.15  # a duplicate registered at an address the person has since left
    postcode_history_kept: float = 0.5  # the current record lists the old postcode
    local_move: float = 0.4  # the old address is in the same postcode district
    postcode_typo: float = 0.02
    postcode_missing: float = 0.03
    address_abbreviated: float = 0.2
    maiden_name_used: float = 0.4  # per duplicate of a married woman who changed her name
    name_history_kept: float = 0.5
    sex_unknown: float = 0.03
    sex_wrong: float = 0.003
    nhs_missing: float = 0.30
    nhs_mistyped: float = 0.01
    suffix_recorded: float = 0.4
    # Per household or person:
    twins: float = 0.03  # of families with children
    junior: float = 0.04  # of families with a son: he has his father's forename
    namesake_population: int = 1_400_000  # index size whose name collisions are mimicked
    double_barrelled: float = 0.02


DEFAULT_RATES = ErrorRates()
_ERA_BOUNDS = (1950, 1980, 2000)
_TODAY = date(2026, 11, 22)


def _era(year: int) -> int:
    return bisect.bisect_right(_ERA_BOUNDS, year)


class _World:
    """Household and address generation state for one seeded run."""

    def __init__(self, rng: random.Random, rates: ErrorRates) -> None:
        self.rng = rng
        self.rates = rates
        self.tables = _tables()
        self.people: list[Person] = []
        self.household = 0
        self.used_lines: set[tuple[str, str]] = set()
        self.streets: list[tuple[str, str, str, list[str]]] = []
        self.by_district: dict[str, list[tuple[str, str, str, list[str]]]] = defaultdict(list)

    # -- places
    def _new_street(self) -> tuple[str, str, str, list[str]]:
        rng = self.rng
        code, town = self.tables.districts[
            bisect.bisect_right(
                self.tables.district_cum, rng.random() * self.tables.district_cum[-1]
            )
        ]
        name = f"{rng.choice(_STREET_WORDS)} {rng.choice(_STREET_TYPES)}"
        postcodes = [
            f"{code} {rng.randrange(10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
            for _ in range(rng.randint(1, 4))
        ]
        street = (name, town, code, postcodes)
        self.streets.append(street)
        self.by_district[code].append(street)
        return street

    def address(self, district: str | None = None) -> Address:
        """A free address; in ``district`` (an outward code) if given and it has streets."""
        rng = self.rng
        local = self.by_district.get(district, []) if district else []
        # About a dozen households per street, so neighbours share postcodes as in life.
        if local and rng.random() < 0.9:
            street = rng.choice(local)
        elif not self.streets or rng.random() < 0.08:
            street = self._new_street()
        else:
            street = rng.choice(self.streets)
        name, town, _, postcodes = street
        for _ in range(20):
            number = rng.randint(1, 160)
            line = f"{number} {name}"
            if rng.random() < 0.1:
                line = f"Flat {rng.randint(1, 12)}, {line}"
            if (line, town) not in self.used_lines:
                break
        self.used_lines.add((line, town))
        postcode = postcodes[min(number // 40, len(postcodes) - 1)]
        return Address(line, town, postcode)

    # -- people
    def _dob(self, year: int) -> date:
        year = min(max(year, 1920), _TODAY.year)
        start = date(year, 1, 1)
        days = 365 if year < _TODAY.year else (_TODAY - start).days
        return start + timedelta(days=self.rng.randrange(max(days, 1)))

    def forename(self, sex: str, year: int) -> str:
        names, cum = self.tables.forenames[(sex, _era(year))]
        return _pick(self.rng, names, cum)

    def given_names(self, sex: str, year: int, avoid: set[str] = frozenset()) -> str:
        rng = self.rng
        for _ in range(10):
            first = self.forename(sex, year)
            if first not in avoid:
                break
        if rng.random() < 0.55:
            middle = rng.choice(_MIDDLE_NAMES[sex])
            if middle != first:
                return f"{first} {middle}"
        return first

    def surname(self) -> str:
        return _pick(self.rng, self.tables.surnames, self.tables.surname_cum)

    def person(
        self, given: str, family: str, dob: date, sex: str, address: Address, **extra
    ) -> Person:
        person = Person(len(self.people), given, family, dob, sex, address, self.household, **extra)
        self.people.append(person)
        return person

    def household_of(self) -> None:
        """One household: a single adult, a couple, a family, or three generations."""
        rng, rates = self.rng, self.rates
        self.household += 1
        address = self.address()
        kind = rng.random()
        head_year = rng.randint(1930, 2004)
        head_sex = rng.choice("MF")
        family = self.surname()
        adults: list[Person] = []
        head = self.person(
            self.given_names(head_sex, head_year), family, self._dob(head_year), head_sex, address
        )
        adults.append(head)
        if kind < 0.32:
            return
        # A partner: usually the other sex, and a wife usually takes the family name.
        partner_sex = "F" if head_sex == "M" else "M"
        partner_year = head_year + rng.randint(-6, 6)
        own_name = self.surname()
        if partner_sex == "F" and rng.random() < 0.75:
            partner = self.person(
                self.given_names(partner_sex, partner_year),
                family,
                self._dob(partner_year),
                partner_sex,
                address,
                maiden_name=own_name,
            )
        elif partner_sex == "M" and rng.random() < 0.75:
            # The head is the wife: she took his name.
            head.maiden_name, head.family_name = head.family_name, own_name
            family = own_name
            partner = self.person(
                self.given_names(partner_sex, partner_year),
                family,
                self._dob(partner_year),
                partner_sex,
                address,
            )
        else:
            partner = self.person(
                self.given_names(partner_sex, partner_year),
                own_name,
                self._dob(partner_year),
                partner_sex,
                address,
            )
        adults.append(partner)
        if kind < 0.60:
            return
        father = next((a for a in adults if a.sex == "M"), None)
        mother_year = min(a.dob.year for a in adults)
        child_family = family
        if rng.random() < rates.double_barrelled and partner.family_name != head.family_name:
            child_family = f"{head.family_name}-{partner.family_name}"
        count = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        taken: set[str] = set()
        year = mother_year + rng.randint(20, 30)
        junior_done = False
        for _ in range(count):
            if year > _TODAY.year:
                break
            if rng.random() < rates.twins:
                self._twins(year, child_family, address, taken)
            else:
                sex = rng.choice("MF")
                if (
                    sex == "M"
                    and father is not None
                    and not junior_done
                    and rng.random() < rates.junior
                ):
                    junior_done = True
                    son = self.person(
                        father.given_names,
                        child_family,
                        self._dob(year),
                        sex,
                        address,
                        suffix="JR",
                    )
                    father.suffix = "SR"
                    son.tags.add("jr_sr")
                    father.tags.add("jr_sr")
                else:
                    given = self.given_names(sex, year, taken)
                    taken.add(given.split()[0])
                    self.person(given, child_family, self._dob(year), sex, address)
            year += rng.randint(1, 5)
        if kind > 0.93:
            # A widowed grandparent living with the family.
            gran_year = mother_year - rng.randint(22, 35)
            gran_sex = rng.choice("MF")
            self.person(
                self.given_names(gran_sex, gran_year),
                self.surname() if gran_sex == "F" and rng.random() < 0.5 else family,
                self._dob(gran_year),
                gran_sex,
                address,
            )

    def _twins(self, year: int, family: str, address: Address, taken: set[str]) -> None:
        rng = self.rng
        dob = self._dob(year)
        for _ in range(2):
            sex = rng.choice("MF")
            given = self.given_names(sex, year, taken)
            taken.add(given.split()[0])
            self.person(given, family, dob, sex, address, tags={"twin"})

    def namesake_chance(self, person: Person) -> float:
        """Expected others with this forename, surname and date of birth in a city's index.

        Births spread evenly over about 100 years and two sexes: the chance that someone else
        shares a given day is population x 1/2 x share(forename | sex, era) x share(surname)
        / 36,500 days.
        """
        tables = self.tables
        era = _era(person.dob.year)
        forename_share = tables.forename_share[(person.sex, era)].get(
            person.given_names.split()[0], 0.0
        )
        surname_share = tables.surname_share.get(person.family_name, 0.0)
        expected = self.rates.namesake_population * 0.5 * forename_share * surname_share / 36_500
        return min(expected, 1.0)

    def namesake(self, other: Person) -> None:
        """Someone else with the same forename, surname and date of birth, living elsewhere.

        Only the first forename is shared: a namesake's middle names are their own.
        """
        self.household += 1
        first = other.given_names.split()[0]
        middle = self.given_names(other.sex, other.dob.year).split()[1:]
        self.person(
            " ".join([first, *middle]),
            other.family_name,
            other.dob,
            other.sex,
            self.address(),
            tags={"namesake"},
        )
        other.tags.add("namesake")


def _nhs_numbers(rng: random.Random, count: int) -> Iterator[str | None]:
    """Distinct valid numbers from 999 000 0000-999 999 9999; None once the range runs out.

    The test range holds about 909,000 valid numbers, so a population larger than that (the
    1.4 million-record scale test) has some people without one.
    """
    wanted = min(int(count * 1.12) + 50, 1_000_000)
    for middle in rng.sample(range(1_000_000), wanted):
        nine = f"999{middle:06d}"
        digit = check_digit(nine)
        if digit is not None and len(set(nine + str(digit))) > 1:
            yield nine + str(digit)
    while True:
        yield None


# ---------------------------------------------------------------------------------------------
# Records: noisy copies of people.


def _typo(rng: random.Random, name: str) -> str:
    """One realistic slip: a neighbouring key, a dropped, doubled or swapped letter, respelling."""
    if len(name) < 3:
        return name
    lower = name.lower()
    roll = rng.random()
    if roll < 0.3:
        for old, new in rng.sample(_RESPELLINGS, len(_RESPELLINGS)):
            if old in lower[1:]:
                at = lower.index(old, 1)
                lower = lower[:at] + new + lower[at + len(old) :]
                return lower.capitalize()
    i = rng.randrange(1, len(lower))
    if roll < 0.5:
        keys = _KEYBOARD.get(lower[i])
        if keys:
            lower = lower[:i] + rng.choice(keys) + lower[i + 1 :]
    elif roll < 0.7:
        lower = lower[:i] + lower[i + 1 :]
    elif roll < 0.85:
        lower = lower[:i] + lower[i] + lower[i:]
    elif i < len(lower) - 1:
        lower = lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :]
    return lower.capitalize()


def _styled(rng: random.Random, name: str) -> str:
    """How systems write the same name: CAPITALS, O'Brien as OBRIEN, accents dropped."""
    roll = rng.random()
    if roll < 0.25:
        return name.upper()
    if roll < 0.30:
        return name.replace("'", "")
    if roll < 0.33:
        return name.replace("-", " - ")
    return name


def _dob_typo(rng: random.Random, dob: date) -> date:
    """One digit of DDMMYYYY changed (or two neighbours swapped) that still makes a date."""
    digits = f"{dob.day:02d}{dob.month:02d}{dob.year:04d}"
    for _ in range(30):
        chars = list(digits)
        i = rng.choice((0, 1, 2, 3, 6, 7))  # any digit of day, month or decade/year
        if rng.random() < 0.2 and i < 7:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = str(rng.randrange(10))
        text = "".join(chars)
        try:
            new = date(int(text[4:]), int(text[2:4]), int(text[:2]))
        except ValueError:
            continue
        if new != dob and new <= _TODAY and new.year >= 1900:
            return new
    return dob


def _mistype_nhs(rng: random.Random, nhs: str) -> str:
    i = rng.randrange(3, 10)
    return nhs[:i] + str((int(nhs[i]) + rng.randint(1, 9)) % 10) + nhs[i + 1 :]


@dataclass
class _Draft:
    """A record being built, mutable until frozen into a PersonRecord."""

    nhs_state: str  # present, missing or mistyped; numbers are drawn once the people are known
    family_name: str
    given_names: str
    previous_family_names: list[str]
    dob: date | None
    dob_placeholder: bool
    sex: str | None
    postcode: str | None
    previous_postcodes: list[str]
    address_line: str | None
    suffix: str | None
    tags: list[str]


def _records_for(
    rng: random.Random, rates: ErrorRates, world: _World, person: Person, count: int
) -> list[_Draft]:
    tables = world.tables
    drafts: list[_Draft] = []
    # Life events shared by the person's records: an old address, a maiden name.
    old_address = None
    if count > 1 and rng.random() < rates.old_address * 2:
        local = rng.random() < rates.local_move
        old_address = world.address(person.address.postcode.split()[0] if local else None)
    for k in range(count):
        tags: list[str] = []
        address = person.address
        previous_postcodes: list[str] = []
        if k > 0 and old_address is not None and rng.random() < 0.5:
            address = old_address
            tags.append("old_address")
        family = person.family_name
        previous_names: list[str] = []
        if person.maiden_name:
            if k > 0 and rng.random() < rates.maiden_name_used:
                family = person.maiden_name
                tags.append("maiden_name")
            elif rng.random() < rates.name_history_kept:
                previous_names.append(person.maiden_name)
        if (
            address is person.address
            and old_address is not None
            and rng.random() < rates.postcode_history_kept
        ):
            previous_postcodes.append(old_address.postcode)
        tokens = person.given_names.split()
        given = person.given_names
        if rng.random() < rates.nickname:
            options = tables.nicknames.get(tokens[0].upper())
            if options:
                given = " ".join([rng.choice(options).capitalize(), *tokens[1:]])
                tags.append("nickname")
        elif len(tokens) > 1 and rng.random() < rates.middle_name_used:
            given = " ".join(tokens[1:])
            tags.append("middle_name")
        elif rng.random() < rates.initial_only:
            given = tokens[0][0]
            tags.append("initial")
        if len(given.split()) > 1 and rng.random() < rates.middle_names_omitted:
            given = given.split()[0]
        if rng.random() < rates.forename_typo:
            first, *rest = given.split()
            given = " ".join([_typo(rng, first), *rest])
            tags.append("forename_typo")
        if rng.random() < rates.surname_typo:
            family = _typo(rng, family)
            tags.append("surname_typo")
        if rng.random() < rates.names_transposed:
            given, family = family, given.split()[0]
            tags.append("transposed")
        dob: date | None = person.dob
        placeholder = False
        roll = rng.random()
        if roll < rates.dob_missing:
            dob = None
            tags.append("dob_missing")
        elif roll < rates.dob_missing + rates.dob_placeholder:
            year = person.dob.year + (rng.choice((-1, 1)) if rng.random() < 0.3 else 0)
            dob = date(min(year, _TODAY.year), 1, 1)
            placeholder = rng.random() < 0.5
            tags.append("dob_placeholder")
        elif roll < rates.dob_missing + rates.dob_placeholder + rates.dob_swap:
            if person.dob.day <= 12 and person.dob.day != person.dob.month:
                dob = date(person.dob.year, person.dob.day, person.dob.month)
                tags.append("dob_swap")
        elif roll < rates.dob_missing + rates.dob_placeholder + rates.dob_swap + rates.dob_typo:
            dob = _dob_typo(rng, person.dob)
            tags.append("dob_typo")
        postcode: str | None = address.postcode
        roll = rng.random()
        if roll < rates.postcode_missing:
            postcode = None
            tags.append("postcode_missing")
        elif roll < rates.postcode_missing + rates.postcode_typo:
            compact = postcode.replace(" ", "")
            i = rng.randrange(len(compact) - 3, len(compact))
            pool = _INWARD_LETTERS if i > len(compact) - 3 else "0123456789"
            compact = compact[:i] + rng.choice(pool) + compact[i + 1 :]
            postcode = f"{compact[:-3]} {compact[-3:]}"
            tags.append("postcode_typo")
        line = address.line
        if rng.random() < rates.address_abbreviated:
            words = line.split()
            line = " ".join(_STREET_ABBREVIATIONS.get(w, w) for w in words)
        sex: str | None = person.sex
        roll = rng.random()
        if roll < rates.sex_unknown:
            sex = rng.choice(("U", None))
        elif roll < rates.sex_unknown + rates.sex_wrong:
            sex = "F" if person.sex == "M" else "M"
            tags.append("sex_wrong")
        roll = rng.random()
        if roll < rates.nhs_missing:
            nhs_state = "missing"
        elif roll < rates.nhs_missing + rates.nhs_mistyped:
            nhs_state = "mistyped"
            tags.append("nhs_mistyped")
        else:
            nhs_state = "present"
        suffix = person.suffix if person.suffix and rng.random() < rates.suffix_recorded else None
        drafts.append(
            _Draft(
                nhs_state=nhs_state,
                family_name=_styled(rng, family),
                given_names=_styled(rng, given),
                previous_family_names=previous_names,
                dob=dob,
                dob_placeholder=placeholder,
                sex=sex,
                postcode=postcode,
                previous_postcodes=previous_postcodes,
                address_line=line,
                suffix=suffix,
                tags=tags,
            )
        )
    return drafts


# ---------------------------------------------------------------------------------------------
# Data sets.


@dataclass(frozen=True)
class SyntheticDataset:
    """Records with their truth: ``person_ids[i]`` is the person behind ``records[i]``.

    ``tags[i]`` lists the slips in record i (``nickname``, ``dob_swap``...) and the person's hard
    case tags (``twin``, ``jr_sr``, ``namesake``).
    """

    records: tuple[PersonRecord, ...]
    person_ids: tuple[int, ...]
    tags: tuple[tuple[str, ...], ...]
    seed: int

    def __len__(self) -> int:
        return len(self.records)

    def true_pairs(self) -> set[tuple[int, int]]:
        """Every pair of record indexes ``(i, j)``, ``i < j``, that belong to one person."""
        by_person: dict[int, list[int]] = defaultdict(list)
        for index, person in enumerate(self.person_ids):
            by_person[person].append(index)
        pairs: set[tuple[int, int]] = set()
        for members in by_person.values():
            pairs.update(itertools.combinations(sorted(members), 2))
        return pairs

    def without_nhs_numbers(self) -> SyntheticDataset:
        """The same records with every NHS number removed."""
        return replace(self, records=tuple(replace(r, nhs_number=None) for r in self.records))

    def tag_counts(self) -> Counter[str]:
        return Counter(tag for tags in self.tags for tag in tags)


def generate_people(
    count: int,
    seed: int = 0,
    *,
    rates: ErrorRates = DEFAULT_RATES,
    nhs_numbers: bool = True,
) -> list[Person]:
    """At least ``count`` people in households (whole households, so a few more), seeded."""
    rng = random.Random(seed)
    world = _World(rng, rates)
    while len(world.people) < count:
        before = len(world.people)
        world.household_of()
        for person in world.people[before:]:
            if rng.random() < world.namesake_chance(person):
                world.namesake(person)
    if nhs_numbers:
        numbers = _nhs_numbers(random.Random(seed + 1), len(world.people))
        for person in world.people:
            person.nhs_number = next(numbers)
    return world.people


def generate(
    records: int,
    seed: int = 0,
    *,
    rates: ErrorRates = DEFAULT_RATES,
    progress: Callable[[int, int], None] | None = None,
) -> SyntheticDataset:
    """Exactly ``records`` records from a seeded population, shuffled, with ground truth."""
    rng = random.Random(seed)
    world = _World(rng, rates)
    counts_cum = list(itertools.accumulate(rates.duplicates))
    drafts: list[tuple[int, _Draft]] = []
    person_index = 0
    while len(drafts) < records:
        if person_index >= len(world.people):
            before = len(world.people)
            world.household_of()
            for person in world.people[before:]:
                if rng.random() < world.namesake_chance(person):
                    world.namesake(person)
            continue
        person = world.people[person_index]
        person_index += 1
        count = bisect.bisect_right(counts_cum, rng.random() * counts_cum[-1]) + 1
        for draft in _records_for(rng, rates, world, person, count):
            drafts.append((person.person_id, draft))
        if progress is not None and person_index % 2000 == 0:
            progress(min(len(drafts), records), records)
    drafts = drafts[:records]
    numbers = _nhs_numbers(random.Random(seed + 1), len(world.people))
    nhs_of = {p.person_id: next(numbers) for p in world.people}
    people = {p.person_id: p for p in world.people}
    order = list(range(len(drafts)))
    rng.shuffle(order)
    out_records, out_people, out_tags = [], [], []
    for position, index in enumerate(order):
        person_id, draft = drafts[index]
        person = people[person_id]
        nhs = nhs_of[person_id] if draft.nhs_state != "missing" else None
        if nhs is not None and draft.nhs_state == "mistyped":
            nhs = _mistype_nhs(rng, nhs)
        out_records.append(
            PersonRecord(
                record_id=f"S{position + 1:07d}",
                nhs_number=nhs,
                family_name=draft.family_name,
                given_names=draft.given_names,
                previous_family_names=tuple(draft.previous_family_names),
                dob=draft.dob,
                dob_placeholder=draft.dob_placeholder,
                sex=draft.sex,
                postcode=draft.postcode,
                previous_postcodes=tuple(draft.previous_postcodes),
                address_line=draft.address_line,
                suffix=draft.suffix,
            )
        )
        out_people.append(person_id)
        out_tags.append(tuple(draft.tags) + tuple(sorted(person.tags)))
    if progress is not None:
        progress(records, records)
    return SyntheticDataset(tuple(out_records), tuple(out_people), tuple(out_tags), seed)


# ---------------------------------------------------------------------------------------------
# Command line.


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A one-line progress display on stderr."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


_CSV_FIELDS = (
    "record_id",
    "person_id",
    "nhs_number",
    "family_name",
    "given_names",
    "previous_family_names",
    "dob",
    "dob_placeholder",
    "sex",
    "postcode",
    "previous_postcodes",
    "address_line",
    "suffix",
    "tags",
)


def write_csv(dataset: SyntheticDataset, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_CSV_FIELDS)
        for record, person, tags in zip(
            dataset.records, dataset.person_ids, dataset.tags, strict=True
        ):
            writer.writerow(
                (
                    record.record_id,
                    person,
                    record.nhs_number or "",
                    record.family_name,
                    record.given_names,
                    "|".join(record.previous_family_names),
                    record.dob.isoformat() if record.dob else "",
                    int(record.dob_placeholder),
                    record.sex or "",
                    record.postcode or "",
                    "|".join(record.previous_postcodes),
                    record.address_line or "",
                    record.suffix or "",
                    "|".join(tags),
                )
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-nhs", action="store_true", help="leave every NHS number out")
    parser.add_argument("--out", type=Path, help="write the records as CSV to this file")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    started = time.perf_counter()
    dataset = generate(args.records, args.seed, progress=progress_bar("generating"))
    if args.no_nhs:
        dataset = dataset.without_nhs_numbers()
    elapsed = time.perf_counter() - started
    people = len(set(dataset.person_ids))
    print(
        f"{len(dataset):,} records of {people:,} people, {len(dataset.true_pairs()):,} true "
        f"duplicate pairs, generated in {elapsed:.1f} s (seed {args.seed})"
    )
    counts = dataset.tag_counts()
    print("records per case: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    if args.out:
        write_csv(dataset, args.out)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
