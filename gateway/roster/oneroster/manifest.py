"""manifest.csv: the OneRoster version and, per file, bulk, delta or absent."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gateway.errors import ImportFailed
from gateway.roster.oneroster.table import Table

COLUMNS = ("propertyName", "value")


class FileMode(enum.StrEnum):
    BULK = "bulk"
    DELTA = "delta"
    ABSENT = "absent"


@dataclass(frozen=True)
class Manifest:
    """What the manifest says; ``version`` is ``None`` when it does not say."""

    version: str | None
    modes: dict[str, FileMode] = field(default_factory=dict)  # keyed by lower-case file name

    def mode(self, file: str) -> FileMode | None:
        """The declared mode of ``users.csv`` (etc.), or ``None`` when there is no line for it."""
        return self.modes.get(file.lower())


def read_manifest(table: Table) -> Manifest:
    """Read the manifest; a value nobody can act on is fatal, since every file depends on it."""
    version: str | None = None
    modes: dict[str, FileMode] = {}
    for row in table.rows():
        name = row.get("propertyName")
        value = row.get("value")
        lowered = name.lower()
        if lowered == "oneroster.version":
            version = _version(value, row.origin)
        elif lowered.startswith("file."):
            try:
                mode = FileMode(value.lower())
            except ValueError:
                raise ImportFailed(
                    f"{row.origin}: {name} must be bulk, delta or absent, not {value!r}"
                ) from None
            modes[f"{lowered.removeprefix('file.')}.csv"] = mode
    return Manifest(version=version, modes=modes)


def _version(value: str, origin: str) -> str:
    # 1.0 files follow the 1.1 layout closely enough (users carry role and orgSourcedIds).
    if value in {"1.0", "1.1"} or value.startswith("1.1."):
        return "1.1"
    if value == "1.2" or value.startswith("1.2."):
        return "1.2"
    raise ImportFailed(f"{origin}: oneroster.version {value!r} is not supported (1.0, 1.1 or 1.2)")
