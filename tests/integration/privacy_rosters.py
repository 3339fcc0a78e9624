"""Random small rosters and sends for the privacy properties, and what they must reach.

A :class:`Roster` is 1–2 institutions, 1–4 groups, 3–12 children, guardians linked to
them by a random bipartite graph (so siblings, split households, step-parents without
custody and guardians of children in two institutions all occur), staff with
memberships, and people protected at random. Every name and address is a unique token
(``NavnC03x``, ``c03.0123@example.dk``), so "this text contains that person's name"
is a substring test that cannot match anyone else.

A :class:`Scenario` adds sends (a staff member, a guardian or a pupil; group × roles,
institutions, named people, ``guardians_of``; with or without non-custodial guardians,
hidden recipients, sensitive) and replies. :func:`may_see` is the oracle: the people a
send can reach by DESIGN's rules, computed from the roster without the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

KINDS = ("child", "guardian", "staff")
ROLES = ("children", "guardians", "staff")


@dataclass(frozen=True)
class Someone:
    key: str  # the source id
    kind: str  # child, guardian, staff
    given: str
    family: str
    protected: bool
    emails: tuple[str, ...]

    @property
    def alias(self) -> str | None:
        return f"Alias {self.key.upper()}" if self.protected else None

    @property
    def secrets(self) -> tuple[str, ...]:
        """What others who are not staff must never read, if protected."""
        return (self.given, self.family, *self.emails)


@dataclass(frozen=True)
class Roster:
    institutions: tuple[str, ...]  # kind per institution: school / daycare
    groups: tuple[int, ...]  # the institution of each group
    children: tuple[Someone, ...]
    child_groups: tuple[frozenset[int], ...]  # groups of each child (one institution)
    guardians: tuple[Someone, ...]
    guardianships: tuple[tuple[int, int, bool], ...]  # (child, guardian, custody)
    staff: tuple[Someone, ...]
    staff_institution: tuple[int, ...]
    staff_groups: tuple[tuple[tuple[int, str], ...], ...]  # (group, role) per staff member

    @property
    def people(self) -> tuple[Someone, ...]:
        return self.children + self.guardians + self.staff

    def of_kind(self, kind: str) -> tuple[Someone, ...]:
        return {"child": self.children, "guardian": self.guardians, "staff": self.staff}[kind]

    def child_institution(self, child: int) -> int:
        return self.groups[min(self.child_groups[child])]

    def guardians_of(self, child: int, *, non_custodial: bool) -> set[str]:
        return {
            self.guardians[g].key
            for c, g, custody in self.guardianships
            if c == child and (custody or non_custodial)
        }

    def custodial_children(self, guardian_key: str) -> set[str]:
        return {
            self.children[c].key
            for c, g, custody in self.guardianships
            if custody and self.guardians[g].key == guardian_key
        }

    def children_of(self, guardian_key: str) -> set[str]:
        return {
            self.children[c].key
            for c, g, _ in self.guardianships
            if self.guardians[g].key == guardian_key
        }

    def by_key(self, key: str) -> Someone:
        return next(person for person in self.people if person.key == key)

    def is_staff(self, key: str) -> bool:
        return any(person.key == key for person in self.staff)

    def items(self, code: str) -> dict[str, list[dict[str, Any]]]:
        """The six ``PUT /v1/roster/{code}/…`` bodies' items, in the order to send them."""
        institutions = [
            {"source_id": f"i{n}", "kind": kind, "name": f"Institution {n} {code}"}
            for n, kind in enumerate(self.institutions)
        ]
        groups = [
            {
                "source_id": f"g{n}",
                "institution": f"i{inst}",
                "kind": "class" if self.institutions[inst] == "school" else "room",
                "name": f"Gruppe {n}",
            }
            for n, inst in enumerate(self.groups)
        ]
        people = [_person_item(person, self) for person in self.people]
        affiliations: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        for n, child in enumerate(self.children):
            affiliations.append(
                {
                    "person": child.key,
                    "institution": f"i{self.child_institution(n)}",
                    "role": "student",
                }
            )
            memberships += [
                {"group": f"g{group}", "person": child.key, "role": "child"}
                for group in sorted(self.child_groups[n])
            ]
        parent_places = sorted(
            {(self.guardians[g].key, self.child_institution(c)) for c, g, _ in self.guardianships}
        )
        affiliations += [
            {"person": key, "institution": f"i{inst}", "role": "parent"}
            for key, inst in parent_places
        ]
        for n, member in enumerate(self.staff):
            affiliations.append(
                {
                    "person": member.key,
                    "institution": f"i{self.staff_institution[n]}",
                    "role": "teacher",
                }
            )
            memberships += [
                {"group": f"g{group}", "person": member.key, "role": role}
                for group, role in self.staff_groups[n]
            ]
        guardianships = [
            {"child": self.children[c].key, "guardian": self.guardians[g].key, "custody": custody}
            for c, g, custody in self.guardianships
        ]
        return {
            "institutions": institutions,
            "groups": groups,
            "people": people,
            "affiliations": affiliations,
            "guardianships": guardianships,
            "memberships": memberships,
        }


def _person_item(person: Someone, roster: Roster) -> dict[str, Any]:
    item: dict[str, Any] = {
        "source_id": person.key,
        "kind": person.kind,
        "given_name": person.given,
        "family_name": person.family,
        "protected": person.protected,
        "alias": person.alias,
        "emails": list(person.emails),
    }
    if person.kind == "child":
        index = roster.children.index(person)
        if roster.institutions[roster.child_institution(index)] == "school":
            item["uni_login"] = f"uni{person.key}"
    return item


def _someone(kind: str, number: int, code: str, protected: bool, emails: int) -> Someone:
    tag = f"{kind[0].upper()}{number:02d}"
    key = f"{kind[0]}{number:02d}"
    return Someone(
        key=key,
        kind=kind,
        given=f"Navn{tag}x",
        family=f"Slaegt{tag}x",
        protected=protected,
        emails=tuple(f"{key}.{n}.{code}@example.dk" for n in range(emails)),
    )


@st.composite
def rosters(draw: st.DrawFn, code: str = "0000") -> Roster:
    """A small random roster (names and addresses made unique by ``code``)."""
    institutions = tuple(
        draw(st.lists(st.sampled_from(["school", "daycare"]), min_size=1, max_size=2))
    )
    groups = [n for n in range(len(institutions))]  # every institution has a group
    groups += draw(st.lists(st.integers(0, len(institutions) - 1), max_size=2))

    def person(kind: str, number: int, max_emails: int) -> Someone:
        hidden = draw(st.integers(0, 3)) == 0  # about one in four is protected
        return _someone(kind, number, code, hidden, draw(st.integers(0, max_emails)))

    n_children = draw(st.integers(3, 12))
    children = tuple(person("child", n, 1) for n in range(n_children))
    child_groups: list[frozenset[int]] = []
    for _ in children:
        first = draw(st.integers(0, len(groups) - 1))
        same = [g for g, inst in enumerate(groups) if inst == groups[first]]
        extra = draw(st.sets(st.sampled_from(same), max_size=1))
        child_groups.append(frozenset({first, *extra}))
    n_guardians = draw(st.integers(1, min(2 * n_children, 10)))
    guardians = tuple(person("guardian", n, 2) for n in range(n_guardians))
    links: dict[tuple[int, int], bool] = {}
    for child in range(n_children):
        for guardian in draw(st.lists(st.integers(0, n_guardians - 1), max_size=3, unique=True)):
            links[(child, guardian)] = draw(st.integers(0, 3)) > 0  # mostly with custody
    n_staff = draw(st.integers(1, 4))
    staff = tuple(person("staff", n, 2) for n in range(n_staff))
    staff_institution = tuple(draw(st.integers(0, len(institutions) - 1)) for _ in staff)
    staff_groups = []
    for inst in staff_institution:
        own = [g for g, at in enumerate(groups) if at == inst]
        chosen = draw(st.lists(st.sampled_from(own), max_size=2, unique=True))
        staff_groups.append(
            tuple((g, draw(st.sampled_from(["teacher", "pedagogue", "leader"]))) for g in chosen)
        )
    return Roster(
        institutions=institutions,
        groups=tuple(groups),
        children=children,
        child_groups=tuple(child_groups),
        guardians=guardians,
        guardianships=tuple((c, g, custody) for (c, g), custody in sorted(links.items())),
        staff=staff,
        staff_institution=staff_institution,
        staff_groups=tuple(staff_groups),
    )


@dataclass(frozen=True)
class Target:
    type: str  # group, institution, people, guardians_of
    index: int = 0  # group or institution
    roles: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # source ids (people: anyone; guardians_of: children)


@dataclass(frozen=True)
class Send:
    sender: str  # a source id
    announcement: bool
    targets: tuple[Target, ...]
    include_non_custodial: bool
    hidden_recipients: bool
    sensitive: bool
    replier: int | None  # an index into the thread's readers, who answers it
    number: int  # makes subject and body unique tokens

    @property
    def subject(self) -> str:
        return f"Emne{self.number:03d}q"

    @property
    def body(self) -> str:
        return f"Tekst{self.number:03d}q om **turen**."

    @property
    def reply(self) -> str:
        return f"Svar{self.number:03d}q"

    @property
    def tokens(self) -> tuple[str, ...]:
        """What a sensitive thread's notifications must never carry."""
        return (self.subject, f"Tekst{self.number:03d}q", self.reply)


@dataclass(frozen=True)
class Scenario:
    roster: Roster
    sends: tuple[Send, ...] = field(default=())
    push_for: frozenset[str] = frozenset()  # people with a browser subscription


@dataclass(frozen=True)
class Reach:
    """What a sender may address by the send policy (draws stay inside it mostly)."""

    groups: tuple[int, ...]
    institutions: tuple[int, ...]
    children: tuple[str, ...]
    people: tuple[str, ...]


def reach_of(roster: Roster, sender: str) -> Reach:
    """The groups, institutions, children and people ``sender`` may address."""
    person = roster.by_key(sender)
    if person.kind == "staff":
        at = roster.staff_institution[roster.staff.index(person)]
        children = [n for n in range(len(roster.children)) if roster.child_institution(n) == at]
        people = {roster.children[n].key for n in children}
        for n in children:
            people |= roster.guardians_of(n, non_custodial=True)
        people |= {s.key for n, s in enumerate(roster.staff) if roster.staff_institution[n] == at}
        groups = tuple(g for g, inst in enumerate(roster.groups) if inst == at)
        return Reach(
            groups, (at,), tuple(roster.children[n].key for n in children), tuple(sorted(people))
        )
    keys = [child.key for child in roster.children]
    if person.kind == "guardian":
        own = sorted(roster.children_of(sender))
        places = {roster.child_institution(keys.index(key)) for key in own}
        people = set(own)
        for key in own:
            people |= roster.guardians_of(keys.index(key), non_custodial=True)
    else:
        index = keys.index(sender)
        places = {roster.child_institution(index)}
        people = roster.guardians_of(index, non_custodial=True)
    people |= {s.key for n, s in enumerate(roster.staff) if roster.staff_institution[n] in places}
    people.discard(sender)
    return Reach((), (), (), tuple(sorted(people)))


@st.composite
def _target(draw: st.DrawFn, roster: Roster, staff: bool, reach: Reach | None) -> Target:
    """One target; inside ``reach`` when given, else anywhere in the roster (refusals)."""
    everyone = reach.people if reach and reach.people else [p.key for p in roster.people]
    named = st.lists(st.sampled_from(everyone), min_size=1, max_size=4, unique=True)
    if not staff:
        return Target(type="people", people=tuple(draw(named)))
    groups = reach.groups if reach else tuple(range(len(roster.groups)))
    institutions = reach.institutions if reach else tuple(range(len(roster.institutions)))
    children = (reach.children if reach else ()) or tuple(c.key for c in roster.children)
    kind = draw(st.sampled_from(["group", "group", "institution", "people", "guardians_of"]))
    roles = tuple(draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True)))
    if kind == "group":
        return Target(type="group", index=draw(st.sampled_from(groups)), roles=roles)
    if kind == "institution":
        return Target(type="institution", index=draw(st.sampled_from(institutions)), roles=roles)
    if kind == "people":
        return Target(type="people", people=tuple(draw(named)))
    picked = draw(st.lists(st.sampled_from(children), min_size=1, max_size=3, unique=True))
    return Target(type="guardians_of", people=tuple(picked))


@st.composite
def scenarios(draw: st.DrawFn, code: str = "0000", max_sends: int = 3) -> Scenario:
    """A roster, who has a browser subscription, and 1–``max_sends`` sends with replies."""
    roster = draw(rosters(code))
    sends = []
    for number in range(draw(st.integers(1, max_sends))):
        kind = draw(st.sampled_from(["staff", "staff", "guardian", "child"]))
        pool = roster.of_kind(kind)
        sender = draw(st.sampled_from(pool)).key
        staff = kind == "staff"
        # Mostly inside what the send policy allows, so that most sends are accepted;
        # sometimes anywhere, so that refusals are looked at too.
        reach = reach_of(roster, sender) if draw(st.integers(0, 4)) else None
        sends.append(
            Send(
                sender=sender,
                announcement=staff and draw(st.integers(0, 4)) == 0,
                targets=tuple(
                    draw(st.lists(_target(roster, staff, reach), min_size=1, max_size=2))
                ),
                include_non_custodial=draw(st.booleans()),
                hidden_recipients=draw(st.booleans()),
                sensitive=draw(st.booleans()),
                replier=draw(st.none() | st.integers(0, 30)),
                number=number,
            )
        )
    everyone = [person.key for person in roster.people]
    push_for = frozenset(draw(st.sets(st.sampled_from(everyone))))
    return Scenario(roster=roster, sends=tuple(sends), push_for=push_for)


def may_see(roster: Roster, send: Send) -> set[str]:
    """Source ids a send may reach by DESIGN's rules (the sender included).

    Guardians come only through their children, with custody unless the send asks for
    the others too; nobody else is added by any rule.
    """
    found = {send.sender}
    non_custodial = send.include_non_custodial
    for target in send.targets:
        if target.type == "people":
            found.update(target.people)
            continue
        if target.type == "guardians_of":
            for key in target.people:
                index = [child.key for child in roster.children].index(key)
                found |= roster.guardians_of(index, non_custodial=non_custodial)
            continue
        if target.type == "group":
            children = [n for n, groups in enumerate(roster.child_groups) if target.index in groups]
            staff = [
                n
                for n, memberships in enumerate(roster.staff_groups)
                if any(group == target.index for group, _ in memberships)
            ]
        else:
            children = [
                n
                for n in range(len(roster.children))
                if roster.child_institution(n) == target.index
            ]
            staff = [
                n
                for n, inst in enumerate(roster.staff_institution)
                if inst == target.index
                or any(roster.groups[g] == target.index for g, _ in roster.staff_groups[n])
            ]
        if "children" in target.roles:
            found.update(roster.children[n].key for n in children)
        if "guardians" in target.roles:
            for n in children:
                found |= roster.guardians_of(n, non_custodial=non_custodial)
        if "staff" in target.roles:
            found.update(roster.staff[n].key for n in staff)
    return found
