"""Families: children, the adults linked to them, who has custody, and where everyone lives.

A :class:`Family` is self-contained: every guardian it holds is linked only to its own
children, so a family can be written and forgotten, and a 100 000-child municipality
is generated in constant memory. The first families are scripted so that every shape
the gateway must handle (split custody, custody for only one of two children, foster
and step parents, a protected mother and child) exists in any data set, however small;
the rest are drawn at random with realistic shares.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
from collections.abc import Iterator
from itertools import accumulate

import msgspec

from gateway.roster.demo import schoolyear
from gateway.roster.demo.draw import below, pick, weighted
from gateway.roster.demo.institutions import Municipality, Placement
from gateway.roster.demo.names import (
    DANISH,
    MIDDLE_NAMES,
    STREETS,
    Origin,
    UniLogins,
    ascii_slug,
    family_name_for,
    pick_locale,
    pick_origin,
)

GUARDIAN_DOMAIN = "example.dk"
PUPIL_DOMAIN = "example.org"
# Pupils get a school e-mail address from 4. klasse, when they start using one.
PUPIL_EMAIL_FROM_YEAR = 4


class Relation(enum.StrEnum):
    PARENT = "parent"
    FOSTER = "foster"
    STEP = "step"
    RELATIVE = "relative"


class FamilyKind(enum.StrEnum):
    COUPLE = "couple"  # two parents at one address, both with custody
    SINGLE = "single"  # one parent with sole custody
    SPLIT_SHARED = "split_shared"  # parents at two addresses, joint custody
    SPLIT_NONCUSTODIAL = "split_noncustodial"  # the parent elsewhere has no custody
    STEP = "step"  # a parent, their new partner (no custody) and the other parent
    BLENDED = "blended"  # a parent with a child from each of two relationships
    FOSTER = "foster"  # foster parents to whom the municipality delegated custody


# Shares of the randomly drawn families; about a fifth live at two addresses.
_KINDS = (
    (FamilyKind.COUPLE, 0.615),
    (FamilyKind.SINGLE, 0.12),
    (FamilyKind.SPLIT_SHARED, 0.15),
    (FamilyKind.SPLIT_NONCUSTODIAL, 0.05),
    (FamilyKind.STEP, 0.03),
    (FamilyKind.BLENDED, 0.02),
    (FamilyKind.FOSTER, 0.015),
)
_KIND_VALUES = tuple(kind for kind, _ in _KINDS)
_KIND_CUMULATIVE = tuple(accumulate(share for _, share in _KINDS))
# Children of the family within the municipality's institutions (not all children).
_SIZES = (1, 2, 3, 4)
_SIZE_CUMULATIVE = tuple(accumulate((0.5, 0.36, 0.12, 0.02)))
PROTECTED_SHARE = 0.005
RELATIVE_SHARE = 0.015
EMAIL_SHARE = 0.97


class Adult(msgspec.Struct, kw_only=True):
    source_id: str
    given_name: str
    middle_name: str
    family_name: str
    female: bool
    locale: str
    email: str
    protected: bool
    home: int
    relation: Relation


class Child(msgspec.Struct, kw_only=True):
    source_id: str
    given_name: str
    middle_name: str
    family_name: str
    female: bool
    birth_date: dt.date
    locale: str
    protected: bool
    home: int
    placement: Placement
    uni_login: str
    email: str


class Link(msgspec.Struct, frozen=True, kw_only=True):
    guardian: str
    child: str
    custody: bool


class Family(msgspec.Struct, kw_only=True):
    kind: FamilyKind
    homes: list[str]
    adults: list[Adult]
    children: list[Child]
    links: list[Link]


class _Script(msgspec.Struct, frozen=True):
    kind: FamilyKind
    births: tuple[dt.date, ...]
    protected: bool = False
    relative: bool = False


_D = dt.date
SCRIPTED = (
    # Two parents; a child in 3. klasse and one in børnehave.
    _Script(FamilyKind.COUPLE, (_D(2017, 3, 14), _D(2022, 5, 20))),
    # A pupil in 8. klasse whose father has no custody.
    _Script(FamilyKind.SPLIT_NONCUSTODIAL, (_D(2012, 2, 9),)),
    # Mother and child with protected identity; the father elsewhere shares custody.
    _Script(FamilyKind.SPLIT_SHARED, (_D(2015, 10, 2),), protected=True),
    # The father has custody of his toddler but not of his older child from before.
    _Script(FamilyKind.BLENDED, (_D(2014, 6, 11), _D(2024, 9, 30))),
    _Script(FamilyKind.FOSTER, (_D(2018, 1, 22),)),
    _Script(FamilyKind.STEP, (_D(2016, 4, 4), _D(2019, 8, 19))),
    _Script(FamilyKind.SINGLE, (_D(2011, 12, 1), _D(2015, 2, 17), _D(2023, 11, 5))),
    _Script(FamilyKind.COUPLE, (_D(2020, 7, 7),), relative=True),
)
MIN_CHILDREN = sum(len(script.births) for script in SCRIPTED)


class FamilyFactory:
    """Draws families from one random generator, numbering people as they appear."""

    def __init__(self, rng: random.Random, municipality: Municipality, uni_logins: UniLogins):
        self._rng = rng
        self._municipality = municipality
        self._uni_logins = uni_logins
        self._children = 0
        self._adults = 0

    def families(self, children: int) -> Iterator[Family]:
        """Families holding exactly ``children`` children, the scripted ones first."""
        if children < MIN_CHILDREN:
            raise ValueError(f"the demo data needs at least {MIN_CHILDREN} children")
        remaining = children
        for script in SCRIPTED:
            yield self._build(script.kind, list(script.births), script.protected, script.relative)
            remaining -= len(script.births)
        rng = self._rng
        while remaining > 0:
            kind = weighted(rng, _KIND_VALUES, _KIND_CUMULATIVE)
            size = weighted(rng, _SIZES, _SIZE_CUMULATIVE)
            births = self._births(min(size, remaining))
            if kind is FamilyKind.BLENDED and len(births) < 2:
                kind = FamilyKind.COUPLE
            protected = rng.random() < PROTECTED_SHARE
            relative = rng.random() < RELATIVE_SHARE
            yield self._build(kind, births, protected, relative)
            remaining -= len(births)

    def _births(self, wanted: int) -> list[dt.date]:
        """Siblings' birth dates: one from the cohorts, the rest one to four years apart."""
        rng = self._rng
        births = [schoolyear.cohort_birth_date(rng)]
        while len(births) < wanted:
            if rng.random() < 0.03:
                births.append(births[-1])  # twins
                continue
            gap = dt.timedelta(days=450 + below(rng, 1150))
            options = [
                day
                for day in (min(births) - gap, max(births) + gap)
                if schoolyear.FIRST_BIRTH <= day <= schoolyear.LAST_BIRTH
            ]
            if not options:
                break
            births.append(pick(rng, options))
        return sorted(births)

    def _build(
        self, kind: FamilyKind, births: list[dt.date], protected: bool, relative: bool
    ) -> Family:
        rng = self._rng
        origin = pick_origin(rng)
        partner_origin = origin if rng.random() < 0.85 else pick_origin(rng)
        homes = [self._address()]
        # The first adult is the mother, except for some single fathers; same-sex
        # couples are a small share.
        female_first = rng.random() < 0.8 if kind is FamilyKind.SINGLE else True
        same_sex = rng.random() < 0.02
        a = self._adult(origin, female_first, 0, Relation.PARENT)
        adults = [a]
        links: list[tuple[Adult, int, bool]] = []  # (guardian, child index, custody)
        lives_at = [0] * len(births)
        child_families = [a.family_name] * len(births)
        child_origin = origin

        def other_parent(home: int) -> Adult:
            female = female_first if same_sex else not female_first
            # Couples living together often share a family name.
            shared = a.family_name if home == 0 and rng.random() < 0.45 else None
            parent = self._adult(partner_origin, female, home, Relation.PARENT, shared)
            adults.append(parent)
            return parent

        everyone = range(len(births))
        if kind is FamilyKind.COUPLE:
            b = other_parent(0)
            child_families = [self._child_family(a, b) for _ in everyone]
            links += [(g, i, True) for g in (a, b) for i in everyone]
        elif kind is FamilyKind.SINGLE:
            links += [(a, i, True) for i in everyone]
        elif kind in (FamilyKind.SPLIT_SHARED, FamilyKind.SPLIT_NONCUSTODIAL):
            homes.append(self._address())
            b = other_parent(1)
            child_families = [self._child_family(a, b) for _ in everyone]
            custody = kind is FamilyKind.SPLIT_SHARED
            links += [(a, i, True) for i in everyone] + [(b, i, custody) for i in everyone]
        elif kind is FamilyKind.STEP:
            step = self._adult(partner_origin, not female_first, 0, Relation.STEP)
            adults.append(step)
            links += [(a, i, True) for i in everyone] + [(step, i, False) for i in everyone]
            if rng.random() < 0.7:
                homes.append(self._address())
                b = other_parent(1)
                child_families = [self._child_family(a, b) for _ in everyone]
                links += [(b, i, True) for i in everyone]
        elif kind is FamilyKind.BLENDED:
            # The older child lives with the other parent, who has sole custody; the
            # shared parent (here the father) has custody only of the younger ones.
            father = self._adult(origin, False, 0, Relation.PARENT)
            homes.append(self._address())
            adults.append(father)
            mother_before = self._adult(partner_origin, True, 1, Relation.PARENT)
            adults.append(mother_before)
            lives_at[0] = 1
            child_families[0] = self._child_family(father, mother_before)
            links += [(mother_before, 0, True), (father, 0, False)]
            links += [(g, i, True) for g in (a, father) for i in everyone if i > 0]
            child_families[1:] = [father.family_name] * (len(births) - 1)
        else:  # foster
            a.relation = Relation.FOSTER
            if rng.random() < 0.7:
                adults.append(self._adult(origin, False, 0, Relation.FOSTER, a.family_name))
            child_origin = pick_origin(rng)
            child_families = [pick(rng, child_origin.families)] * len(births)
            links += [(g, i, True) for g in adults for i in everyone]

        if relative:
            homes.append(self._address())
            grandmother = rng.random() < 0.7
            grandparent = self._adult(
                origin, grandmother, len(homes) - 1, Relation.RELATIVE, a.family_name
            )
            adults.append(grandparent)
            links += [(grandparent, i, False) for i in everyone]

        districts = [(below(rng, 1 << 30), below(rng, 1 << 30)) for _ in homes]
        children = [
            self._child(
                child_origin,
                family_name=child_families[i],
                birth=birth,
                home=lives_at[i],
                district=districts[lives_at[i]],
                adults=adults,
            )
            for i, birth in enumerate(births)
        ]
        if protected:
            # Protection follows the registered address: the household at home 0.
            for adult in adults:
                adult.protected = adult.home == 0
            for child in children:
                child.protected = child.home == 0
        return Family(
            kind=kind,
            homes=homes,
            adults=adults,
            children=children,
            links=[
                Link(guardian=guardian.source_id, child=children[i].source_id, custody=custody)
                for guardian, i, custody in links
            ],
        )

    def _child_family(self, first: Adult, second: Adult) -> str:
        """Danish children take either parent's family name; a few get both."""
        roll = self._rng.random()
        if roll < 0.05 and first.family_name != second.family_name:
            return f"{first.family_name}-{second.family_name}"
        return first.family_name if roll < 0.45 else second.family_name

    def _address(self) -> str:
        rng = self._rng
        floor = ""
        if rng.random() < 0.3:
            floor = f", {1 + below(rng, 4)}. {pick(rng, ('th.', 'tv.', 'mf.'))}"
        return f"{pick(rng, STREETS)} {1 + below(rng, 140)}{floor}, 9990 Budstikke"

    def _adult(
        self,
        origin: Origin,
        female: bool,
        home: int,
        relation: Relation,
        family_name: str | None = None,
    ) -> Adult:
        rng = self._rng
        self._adults += 1
        serial = self._adults
        given = pick(rng, origin.women if female else origin.men)
        middle = pick(rng, MIDDLE_NAMES) if origin is DANISH and rng.random() < 0.15 else ""
        family = family_name_for(family_name or pick(rng, origin.families), female=female)
        email = ""
        if rng.random() < EMAIL_SHARE:
            email = f"{ascii_slug(given)}.{ascii_slug(family)}{serial}@{GUARDIAN_DOMAIN}"
        return Adult(
            source_id=f"guardian-{serial:06d}",
            given_name=given,
            middle_name=middle,
            family_name=family,
            female=female,
            locale=pick_locale(rng, origin),
            email=email,
            protected=False,
            home=home,
            relation=relation,
        )

    def _child(
        self,
        origin: Origin,
        *,
        family_name: str,
        birth: dt.date,
        home: int,
        district: tuple[int, int],
        adults: list[Adult],
    ) -> Child:
        rng = self._rng
        self._children += 1
        female = rng.random() < 0.5
        given = pick(rng, origin.girls if female else origin.boys)
        middle = pick(rng, MIDDLE_NAMES) if origin is DANISH and rng.random() < 0.25 else ""
        class_year = schoolyear.class_year(birth)
        placement = self._municipality.place(
            class_year=class_year,
            vuggestue=schoolyear.in_vuggestue(birth),
            school=district[0],
            daycare=district[1],
        )
        uni_login = email = ""
        if class_year is not None:
            uni_login = self._uni_logins.allocate(given)
            if class_year >= PUPIL_EMAIL_FROM_YEAR:
                email = f"{uni_login}@{PUPIL_DOMAIN}"
        # Children use Danish at school; some who arrived recently prefer their parents'.
        locale = "da"
        if rng.random() < 0.3:
            locale = adults[0].locale
        return Child(
            source_id=f"child-{self._children:06d}",
            given_name=given,
            middle_name=middle,
            family_name=family_name_for(family_name, female=female),
            female=female,
            birth_date=birth,
            locale=locale,
            protected=False,
            home=home,
            placement=placement,
            uni_login=uni_login,
            email=email,
        )
