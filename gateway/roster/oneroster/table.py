"""One CSV file as a stream of rows, with forgiving headers and physical line numbers.

Headers are matched by a loose key (case, spaces and underscores ignored), so ``SourcedId``,
`` sourcedId `` and ``sourced_id`` are the same column; columns nobody asked for are kept
but never required. A row's ``line`` is the physical line it starts on (the header is
line 1), also when a quoted cell spans several lines, so people can find it in an editor.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO

from gateway.errors import ImportFailed

# Spellings seen in real exports for the same spec column (the key of the left side).
ALIASES: Mapping[str, str] = {
    "agents": "agentSourcedIds",
    "agentsourceids": "agentSourcedIds",
    "preferredfirstname": "preferredGivenName",
    "preferredlastname": "preferredFamilyName",
    "preferredmiddlename": "preferredMiddleName",
    "userprofile": "userProfileSourcedId",
}


def column_key(header: str) -> str:
    """The loose form two headers must share to be the same column."""
    return "".join(header.split()).replace("_", "").lstrip("\ufeff").lower()


class _Positions(dict[str, int]):
    """Column positions; a column the file lacks points at the blank cell ending each row."""

    def __init__(self, blank: int) -> None:
        super().__init__()
        self.blank = blank

    def __missing__(self, column: str) -> int:
        self[column] = self.blank  # remembered: the next row finds it without this call
        return self.blank


class Row:
    """One data row; ``get`` gives a stripped cell, or ``""`` for a missing column."""

    __slots__ = ("cells", "file", "index", "line")

    def __init__(self, cells: list[str], index: Mapping[str, int], file: str, line: int) -> None:
        self.cells = cells
        self.index = index
        self.file = file
        self.line = line

    def get(self, column: str) -> str:
        # Hot path (millions of calls): cells are stripped and padded when the row is read.
        return self.cells[self.index[column]]

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}"


class Table:
    """The rows of one file, after checking that the columns a reader needs are there."""

    def __init__(
        self, file: str, stream: IO[str], *, columns: Iterable[str], required: Iterable[str]
    ) -> None:
        self.file = file
        self.count = 0
        # strict: an unclosed quote must stop the file, not swallow every row after it.
        self._reader = csv.reader(stream, strict=True)
        self._previous_line = 0
        header = self._header()
        wanted = {column_key(name): name for name in columns}
        wanted.update({key: name for key, name in ALIASES.items() if name in wanted.values()})
        self.width = len(header)
        self.index = _Positions(blank=self.width)
        for position, raw in enumerate(header):
            key = column_key(raw)
            name = wanted.get(key, raw.strip())
            if name in self.index:
                if key in wanted:
                    raise ImportFailed(f"{file}: column {name!r} appears more than once")
                continue
            self.index[name] = position
        self.columns = frozenset(self.index)
        for name in required:
            if name not in self.columns:
                raise ImportFailed(f"{file}: missing required column {name!r}")

    def has(self, column: str) -> bool:
        return column in self.columns

    def _header(self) -> list[str]:
        with self._csv_errors():
            for cells in self._reader:
                self._previous_line = self._reader.line_num
                if "".join(cells).strip():
                    return cells
        raise ImportFailed(f"{self.file} is empty: it needs at least a header row")

    @contextmanager
    def _csv_errors(self) -> Iterator[None]:
        try:
            yield
        except csv.Error as exc:
            raise ImportFailed(
                f"{self.file}:{self._previous_line + 1}: {exc} (is a quote left open?)"
            ) from exc

    def rows(self) -> Iterator[Row]:
        """Every data row; blank lines and rows of empty cells are skipped, not counted."""
        # One flat loop: this runs once per row of every file (hundreds of thousands).
        reader = self._reader
        index = self.index
        file = self.file
        width = self.width
        strip = str.strip
        with self._csv_errors():
            for raw in reader:
                start = self._previous_line + 1
                self._previous_line = reader.line_num
                cells = list(map(strip, raw))
                if not "".join(cells):
                    continue
                if len(cells) != width:
                    del cells[width:]  # cells past the header belong to no column
                    cells.extend([""] * (width - len(cells)))
                cells.append("")  # the blank cell missing columns point at
                self.count += 1
                yield Row(cells, index, file, start)


class FirstSeen:
    """Remembers the line each key was first seen on, to name it when a key repeats."""

    def __init__(self) -> None:
        self._lines: dict[str, int] = {}

    def claim(self, key: str, line: int) -> int | None:
        """Record ``key`` at ``line``; return the earlier line if it was already taken."""
        first = self._lines.setdefault(key, line)
        return None if first == line else first


class Rejections:
    """Row problems, as ``"file:line: reason"`` lines, in the order they were found."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, origin: str, reason: str) -> None:
        self.lines.append(f"{origin}: {reason}")
