"""Write the fictional municipality as a OneRoster 1.2 CSV set (bulk), row by row.

The structure (orgs, the school year, courses, classes, staff) is written first; then
each family's users, roles, enrollments and demographics as it is generated, so memory
stays flat however many children are asked for. Nothing depends on the clock or on
global randomness: one seed, one set of bytes.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from gateway.roster.demo import columns
from gateway.roster.demo.households import MIN_CHILDREN, FamilyFactory
from gateway.roster.demo.institutions import Municipality
from gateway.roster.demo.names import UniLogins
from gateway.roster.demo.rows import RowWriter
from gateway.roster.demo.summary import DemoSummary, SummaryCollector

_BUFFER = 1 << 20


class Table:
    """One CSV file being written, with its header and a row count.

    Rows collect in a list and go to the CSV writer in batches: ``write`` is the list's
    own ``append``, which spares a Python call per row (some 700 000 for the benchmark).
    """

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self._file = path.open("w", encoding="utf-8", newline="", buffering=_BUFFER)
        # RFC 4180 line ends (CRLF), which every CSV reader accepts.
        self._writer = csv.writer(self._file, lineterminator="\r\n")
        self._writer.writerow(header)
        self._pending: list[Sequence[str]] = []
        self.write: Callable[[Sequence[str]], None] = self._pending.append
        self.rows = 0

    def flush(self) -> None:
        self._writer.writerows(self._pending)
        self.rows += len(self._pending)
        self._pending.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.flush()
        self._file.close()


def write_demo_data(out_dir: Path, *, children: int = 1000, seed: int = 1) -> DemoSummary:
    """Write a fictional municipality with ``children`` children into ``out_dir``.

    The same ``seed`` and ``children`` always give byte-identical files.
    """
    if children < MIN_CHILDREN:
        raise ValueError(f"the demo data needs at least {MIN_CHILDREN} children")
    rng = random.Random(seed)  # noqa: S311 - reproducible fiction, not secrets
    uni_logins = UniLogins(rng)
    municipality = Municipality(rng, children, uni_logins)
    collector = SummaryCollector(municipality)
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        tables = {
            name: stack.enter_context(Table(out_dir / f"{name}.csv", header))
            for name, header in columns.WRITTEN.items()
        }
        writer = RowWriter(tables)
        writer.structure(municipality)
        for staff in municipality.staff:
            writer.staff(staff)
        for number, family in enumerate(
            FamilyFactory(rng, municipality, uni_logins).families(children)
        ):
            writer.family(family)
            collector.observe(family)
            if number % 512 == 511:
                for table in tables.values():
                    table.flush()
    _write_manifest(out_dir)
    rows = {f"{name}.csv": table.rows for name, table in tables.items()}
    return collector.summary(seed=seed, rows=rows)


def _write_manifest(out_dir: Path) -> None:
    with Table(out_dir / "manifest.csv", columns.MANIFEST) as manifest:
        manifest.write(("manifest.version", "1.0"))
        manifest.write(("oneroster.version", "1.2"))
        for name in columns.MANIFEST_FILES:
            manifest.write((f"file.{name}", "bulk" if name in columns.WRITTEN else "absent"))
        manifest.write(("source.systemName", "Budstikke demo"))
        manifest.write(("source.systemCode", "budstikke-demo"))
