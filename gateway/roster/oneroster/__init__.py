"""OneRoster 1.1 and 1.2 CSV sets (a folder or a .zip) read into a roster batch.

The mapping from OneRoster columns, and the Danish ``metadata.dk.*`` extensions, is
described in docs/roster-import.md.
"""

from gateway.roster.oneroster.reader import ReadResult, read_oneroster

__all__ = ("ReadResult", "read_oneroster")
