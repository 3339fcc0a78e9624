"""Names for the fictional municipality: people by origin, streets, and how to spell them in ASCII.

The pools reflect who lives in a Danish municipality: mostly Danish names, with the
larger immigrant groups (Arabic, Turkish, Polish, Ukrainian, Vietnamese, English)
present so that sorting, search, e-mail addresses and right-to-left locales meet real
variety. Children and adults draw from different given-name pools because names
change with the generations (a mother is a Mette, her daughter an Ida).
"""

from __future__ import annotations

import functools
import random
import unicodedata
from itertools import accumulate

import msgspec

from gateway.roster.demo.draw import below, weighted


class Origin(msgspec.Struct, frozen=True, kw_only=True):
    """A naming tradition with its share of households and its adults' preferred locales."""

    key: str
    weight: float
    girls: tuple[str, ...]
    boys: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]
    families: tuple[str, ...]
    locales: tuple[tuple[str, float], ...]


# fmt: off
DANISH = Origin(
    key="danish",
    weight=0.84,
    girls=(
        "Emma", "Ida", "Clara", "Freja", "Alma", "Ella", "Sofia", "Anna", "Laura", "Karla",
        "Olivia", "Agnes", "Josefine", "Nora", "Asta", "Ellen", "Lærke", "Maja", "Mathilde",
        "Signe", "Astrid", "Liva", "Frida", "Esther", "Vigga", "Aya", "Silje", "Rosa", "Naja",
        "Sigrid", "Thea", "Lea", "Marie", "Filippa", "Isabella", "Luna", "Molly", "Bella",
    ),
    boys=(
        "William", "Noah", "Oscar", "Lucas", "Carl", "Oliver", "Alfred", "Emil", "Aksel",
        "Valdemar", "Malthe", "Magnus", "Arthur", "August", "Viggo", "Elias", "Frederik",
        "Villads", "Anton", "Theo", "Storm", "Otto", "Johan", "Victor", "Alexander", "Mads",
        "Bjørn", "Søren", "Asger", "Svend", "Ejner", "Konrad", "Hugo", "Laurits", "Sebastian",
    ),
    women=(
        "Mette", "Anne", "Louise", "Camilla", "Maria", "Sara", "Julie", "Christina", "Line",
        "Helle", "Pernille", "Susanne", "Tina", "Trine", "Marianne", "Lene", "Rikke", "Maja",
        "Sofie", "Katrine", "Stine", "Malene", "Nanna", "Cecilie", "Birgitte", "Signe",
        "Jeanette", "Mie", "Ditte", "Lærke", "Sørine", "Gitte", "Hanne", "Dorthe",
    ),
    men=(
        "Peter", "Michael", "Lars", "Thomas", "Jens", "Martin", "Søren", "Henrik", "Jesper",
        "Christian", "Anders", "Morten", "Rasmus", "Jakob", "Kasper", "Nikolaj", "Mads", "Bo",
        "Jørgen", "Torben", "Steen", "Niels", "Kim", "Jonas", "Simon", "Mikkel", "Troels",
        "Frederik", "Ulrik", "Kristian", "Bjørn", "Kåre", "Øjvind",
    ),
    families=(
        # The most common names first, repeated by rough frequency: a third of the
        # population carries one of the ten most common -sen names.
        *("Jensen",) * 5, *("Nielsen",) * 5, *("Hansen",) * 4, *("Pedersen",) * 3,
        *("Andersen",) * 3, *("Christensen",) * 3, *("Larsen",) * 3, *("Sørensen",) * 3,
        *("Rasmussen",) * 2, *("Jørgensen",) * 2, *("Petersen",) * 2, *("Madsen",) * 2,
        *("Kristensen",) * 2, *("Olsen",) * 2,
        "Thomsen", "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen", "Knudsen",
        "Jakobsen", "Mikkelsen", "Frederiksen", "Henriksen", "Laursen", "Lund", "Schmidt",
        "Eriksen", "Holm", "Kristiansen", "Clausen", "Simonsen", "Svendsen", "Andreasen",
        "Iversen", "Jeppesen", "Mogensen", "Jacobsen", "Nørgaard", "Søndergaard",
        "Østergaard", "Bæk", "Kjær", "Dahl", "Lauridsen", "Skov", "Bech", "Vestergaard",
        "Damgaard", "Højgaard", "Brøndum", "Krøyer", "Bøgh", "Nørregaard", "Kjærsgaard",
    ),
    locales=(("da", 0.98), ("en", 0.02)),
)

OTHER_ORIGINS = (
    Origin(
        key="arabic",
        weight=0.04,
        girls=("Maryam", "Lina", "Amira", "Hana", "Sara", "Noor", "Yasmin", "Aya", "Layla"),
        boys=("Adam", "Yusuf", "Zakaria", "Ilyas", "Noah", "Omar", "Ali", "Ibrahim", "Hamza"),
        women=("Fatima", "Aisha", "Maryam", "Layla", "Noor", "Zainab", "Amira", "Huda", "Rania"),
        men=("Ahmed", "Mohammed", "Omar", "Ali", "Yusuf", "Ibrahim", "Khaled", "Karim", "Samir"),
        families=("Hussein", "Ali", "Hassan", "Mohammad", "Ahmad", "Khalil", "Haddad", "Saleh",
                  "Abdullah", "Omar", "El-Sayed"),
        locales=(("ar", 0.5), ("da", 0.45), ("en", 0.05)),
    ),
    Origin(
        key="turkish",
        weight=0.03,
        girls=("Elif", "Zeynep", "Defne", "Ecrin", "Azra", "Eylül", "Nehir"),
        boys=("Emir", "Yusuf", "Eymen", "Kerem", "Mert", "Aras", "Deniz"),
        women=("Ayşe", "Fatma", "Emine", "Merve", "Esra", "Özlem", "Gül"),
        men=("Mehmet", "Mustafa", "Ahmet", "Emre", "Burak", "Hasan", "Serkan"),
        families=("Yilmaz", "Demir", "Kaya", "Çelik", "Öztürk", "Arslan", "Doğan", "Şahin"),
        locales=(("da", 0.9), ("en", 0.1)),
    ),
    Origin(
        key="polish",
        weight=0.025,
        girls=("Zofia", "Hanna", "Julia", "Maja", "Zuzanna", "Lena", "Alicja"),
        boys=("Antoni", "Jan", "Aleksander", "Franciszek", "Jakub", "Szymon", "Filip"),
        women=("Agnieszka", "Katarzyna", "Anna", "Magdalena", "Joanna", "Małgorzata"),
        men=("Piotr", "Tomasz", "Paweł", "Krzysztof", "Marek", "Łukasz"),
        families=("Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski",
                  "Zieliński", "Szymański"),
        locales=(("da", 0.5), ("en", 0.5)),
    ),
    Origin(
        key="ukrainian",
        weight=0.025,
        girls=("Sofiia", "Anastasiia", "Mariia", "Solomiia", "Zlata", "Viktoriia"),
        boys=("Maksym", "Artem", "Denys", "Bohdan", "Matvii", "Nazar"),
        women=("Olena", "Iryna", "Oksana", "Kateryna", "Yuliia", "Nataliia"),
        men=("Oleksandr", "Andrii", "Dmytro", "Serhii", "Volodymyr", "Mykola"),
        families=("Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Melnyk", "Boiko",
                  "Kravchenko", "Oliinyk"),
        locales=(("uk", 0.7), ("en", 0.1), ("da", 0.2)),
    ),
    Origin(
        key="vietnamese",
        weight=0.015,
        girls=("Linh", "Mai", "Vy", "Ngoc", "Anh", "Thu"),
        boys=("Minh", "Khoa", "Bao", "Nam", "An", "Huy"),
        women=("Lan", "Huong", "Thao", "Hoa", "Trang", "Phuong"),
        men=("Duc", "Tuan", "Long", "Hung", "Quang", "Thanh"),
        families=("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang"),
        locales=(("da", 0.8), ("en", 0.2)),
    ),
    Origin(
        key="english",
        weight=0.025,
        girls=("Olivia", "Amelia", "Isla", "Ava", "Freya", "Grace"),
        boys=("George", "Harry", "Jack", "Leo", "Arthur", "Oscar"),
        women=("Emily", "Charlotte", "Hannah", "Sophie", "Rebecca", "Claire"),
        men=("James", "Daniel", "David", "Matthew", "Richard", "Andrew"),
        families=("Smith", "Brown", "Wilson", "Taylor", "Johnson", "Davies", "O'Connor"),
        locales=(("en", 0.9), ("da", 0.1)),
    ),
)

ORIGINS = (DANISH, *OTHER_ORIGINS)

# Danish middle names are often family names used as given ones ("Emil Skov Jensen").
MIDDLE_NAMES = (
    "Holm", "Skov", "Bach", "Lund", "Juul", "Dahl", "Friis", "Krogh", "Vestergaard", "Møller",
    "Bøgh", "Kjær", "Høj", "Bang", "Buch", "Søgaard", "Ravn", "Lykke", "Due", "Brink",
)

STREETS = (
    "Egevej", "Bøgevej", "Skolegade", "Kirkevej", "Møllevej", "Åboulevarden", "Rosenvænget",
    "Søndergade", "Nørregade", "Vestergade", "Østergade", "Strandvejen", "Hasselvej",
    "Lærkevej", "Ved Gadekæret", "Engtoften", "Fasanvej", "Kløvervænget", "Pilevej",
    "Ahornvej", "Birkevej", "Skovbrynet", "Højagervej", "Tjørnevej", "Præstemarken",
    "Bakkedraget", "Mosevej", "Fjordparken", "Grøndalsvej", "Smedestræde",
)
# fmt: on


_ORIGIN_CUMULATIVE = tuple(accumulate(origin.weight for origin in ORIGINS))


def pick_origin(rng: random.Random) -> Origin:
    """The naming tradition of a new household, by the shares in :data:`ORIGINS`."""
    return weighted(rng, ORIGINS, _ORIGIN_CUMULATIVE)


def pick_locale(rng: random.Random, origin: Origin) -> str:
    """An adult's preferred locale for the gateway's messages."""
    roll = rng.random()
    for locale, share in origin.locales:
        roll -= share
        if roll < 0:
            return locale
    return origin.locales[0][0]


def family_name_for(name: str, *, female: bool) -> str:
    """Polish family names agree with the bearer's gender (Kowalski, Kowalska)."""
    if female and name.endswith(("ski", "cki")):
        return name[:-1] + "a"
    if not female and name.endswith(("ska", "cka")):
        return name[:-1] + "i"
    return name


# fmt: off
_FOLD = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa", "ł": "l", "Ł": "L",
     "ı": "i", "ß": "ss", "đ": "d", "Đ": "D"}
)
# fmt: on


@functools.lru_cache(maxsize=8192)  # names come from small pools: slug each once
def ascii_slug(text: str) -> str:
    """``Søren Ølgaard-Brønd`` → ``soeren-oelgaard-broend``, for e-mail addresses and logins.

    Danish letters are transliterated the Danish way (ø → oe), other diacritics are
    dropped, so that e-mail local parts and UNI-Login ids stay in ASCII.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    kept = []
    for char in folded.lower():
        if "a" <= char <= "z" or "0" <= char <= "9":
            kept.append(char)
        elif char in " -'":
            kept.append("-")
    return "-".join(part for part in "".join(kept).split("-") if part)


class UniLogins:
    """Allocates unique UNI-Login-shaped ids: four letters of the given name and four digits."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def allocate(self, given_name: str) -> str:
        stem = (ascii_slug(given_name).replace("-", "") + "xxxx")[:4]
        for attempt in range(100):
            # Past a few collisions a stem is crowded; a fifth digit gives it room.
            digits = 4 if attempt < 20 else 5
            candidate = f"{stem}{below(self._rng, 10**digits):0{digits}d}"
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate
        raise RuntimeError(f"no free UNI-Login id for the stem {stem!r}")
