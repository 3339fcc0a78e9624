"""What one file defined, so that rows of other files can be checked against it.

A reference is only checked here when the file it points into was read in bulk: then
the file is the whole truth and an id missing from it is an error in the set. For a
delta file (or one left out) the reference is passed on, and the sync resolves it
against what is already stored.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Known(Generic[T]):
    """The ids one file defined (with a value each) and the ids whose rows were rejected."""

    def __init__(self, file: str, *, complete: bool) -> None:
        self.file = file
        self.complete = complete
        self.values: dict[str, T] = {}
        self.refused: set[str] = set()

    def add(self, source_id: str, value: T) -> None:
        self.values[source_id] = value

    def refuse(self, source_id: str) -> None:
        if source_id and source_id not in self.values:
            self.refused.add(source_id)

    def get(self, source_id: str) -> T | None:
        return self.values.get(source_id)

    def __contains__(self, source_id: object) -> bool:
        return source_id in self.values

    def problem(self, noun: str, source_id: str) -> str | None:
        """Why a reference to ``source_id`` cannot be used, or ``None`` if it can (or may)."""
        if source_id in self.values:
            return None
        if source_id in self.refused:
            return f"{noun} {source_id!r} was rejected in {self.file}"
        if self.complete:
            return f"unknown {noun} {source_id!r}"
        return None
