"""The demo portal's people: who a new user can be in ``/demo``.

Picked from the summary of the demo data ``budstikke run`` loaded (kept beside its CSV
files), so they always have the property they stand for: a guardian with custody of
two children, a parent without custody, a class teacher and so on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.roster.demo import SUMMARY_FILE, DemoSummary, write_demo_data
from gateway.roster.models import Person

# The embedded default loads this many children with seed 1 (gateway.embedded).
DEMO_CHILDREN = 1000
# (key, the summary field naming the person) in the order the demo shows them.
ROLES = (
    ("teacher", "teacher"),
    ("pedagogue", "pedagogue"),
    ("leader", "leader"),
    ("guardian", "guardian_two_children"),
    ("non_custodial_parent", "non_custodial_parent"),
    ("pupil", "pupil"),
)


class Persona(msgspec.Struct, frozen=True, kw_only=True):
    """One person to be in the demo, with what makes them interesting."""

    key: str  # teacher, pedagogue, leader, guardian, non_custodial_parent, pupil
    person: str  # roster source id, as `budstikke token` takes it
    name: str
    kind: str


def demo_summary(data_dir: Path) -> DemoSummary:
    """The summary of the loaded demo data; regenerated (it is deterministic) if missing."""
    path = data_dir / "demo-roster" / SUMMARY_FILE
    if path.is_file():
        return msgspec.json.decode(path.read_bytes(), type=DemoSummary)
    with tempfile.TemporaryDirectory() as folder:
        return write_demo_data(Path(folder), children=DEMO_CHILDREN, seed=1)


async def personas(session: AsyncSession, summary: DemoSummary) -> list[Persona]:
    """The demo's people that exist in this database, in :data:`ROLES` order."""
    wanted = {key: getattr(summary, field) for key, field in ROLES}
    rows = await session.execute(
        select(Person.source_id, Person.given_name, Person.family_name, Person.kind).where(
            Person.source_id.in_(list(wanted.values())), Person.active
        )
    )
    found = {source_id: (f"{given} {family}", kind) for source_id, given, family, kind in rows}
    return [
        Persona(key=key, person=source_id, name=found[source_id][0], kind=found[source_id][1])
        for key, source_id in wanted.items()
        if source_id in found
    ]
