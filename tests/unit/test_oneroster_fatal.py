"""Every fatal problem: ImportFailed, with a message that says what to fix."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from gateway.errors import ImportFailed
from gateway.roster.oneroster import ReadResult, read_oneroster
from gateway.roster.oneroster.files import MAX_ZIP_MEMBERS, FileSet, _Entry
from gateway.roster.records import Mode

SOURCE = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster" / "v1p2-dk"
LIMIT = 1 << 20


def read(path: Path, *, code: str | None = None, limit: int = LIMIT) -> ReadResult:
    return read_oneroster(
        path, municipality_code=code, max_file_bytes=limit, default_time_zone="Europe/Copenhagen"
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of a valid 1.2 set."""
    return Path(shutil.copytree(SOURCE, tmp_path / "set"))


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_bytes().decode("utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def fails(path: Path, match: str, **kwargs: object) -> None:
    with pytest.raises(ImportFailed, match=match):
        read(path, **kwargs)  # type: ignore[arg-type]


# -- the set itself ------------------------------------------------------------------------


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    fails(tmp_path / "nowhere", "does not exist")


def test_a_file_that_is_neither_folder_nor_zip(folder: Path) -> None:
    fails(folder / "users.csv", "neither a folder nor a .zip")


def test_missing_manifest_reads_every_file_as_bulk_and_says_so(folder: Path) -> None:
    with_manifest = read_oneroster(
        folder,
        municipality_code=None,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    (folder / "manifest.csv").unlink()
    result = read_oneroster(
        folder,
        municipality_code=None,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    assert result.notices == ["manifest.csv is missing: every file present is read as bulk"]
    assert set(result.batch.modes.values()) == {Mode.BULK}
    assert len(result.batch.people) == len(with_manifest.batch.people) > 0


@pytest.mark.parametrize("name", ["orgs.csv", "users.csv"])
def test_missing_always_required_file(folder: Path, name: str) -> None:
    (folder / name).unlink()
    fails(folder, f"{name} is missing, but manifest.csv lists it as bulk")


def test_missing_required_file_the_manifest_does_not_mention(folder: Path) -> None:
    edit(folder, "manifest.csv", "file.classes,bulk\n", "")
    (folder / "classes.csv").unlink()
    fails(folder, r"classes.csv is missing: add it, or mark file.classes absent in manifest.csv")


def test_classes_marked_absent_are_not_required(folder: Path) -> None:
    edit(folder, "manifest.csv", "file.classes,bulk", "file.classes,absent")
    (folder / "classes.csv").unlink()
    result = read(folder)
    assert result.batch.groups == []
    assert "groups" not in result.batch.modes
    # Enrollments are passed on: their classes may be stored already.
    assert len(result.batch.memberships) == 8


def test_orgs_marked_absent_is_refused(folder: Path) -> None:
    edit(folder, "manifest.csv", "file.orgs,bulk", "file.orgs,absent")
    fails(folder, "manifest.csv marks file.orgs absent, but orgs.csv is always needed")


def test_1_2_without_roles_csv_and_without_a_role_column(folder: Path) -> None:
    (folder / "roles.csv").unlink()
    fails(folder, "roles.csv is missing: in OneRoster 1.2 users' roles are there")


def test_1_2_users_with_a_role_column_need_no_roles_csv(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(SOURCE.parent / "v1p1", tmp_path / "set"))
    edit(folder, "manifest.csv", "oneroster.version,1.1", "oneroster.version,1.2")
    result = read(folder, code="230")
    assert result.version == "1.2"
    assert result.rejected == []
    assert len(result.batch.affiliations) == 11


def test_missing_required_column(folder: Path) -> None:
    edit(folder, "users.csv", "givenName,", "firstName,")
    fails(folder, "users.csv: missing required column 'givenName'")


def test_1_1_users_need_a_role_column(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(SOURCE.parent / "v1p1", tmp_path / "set"))
    edit(folder, "users.csv", ",role,", ",kind,")
    fails(folder, "users.csv: missing required column 'role'", code="230")


def test_a_column_given_twice(folder: Path) -> None:
    edit(folder, "orgs.csv", "identifier,parentSourcedId", "identifier,Identifier")
    fails(folder, "orgs.csv: column 'identifier' appears more than once")


def test_an_empty_file(folder: Path) -> None:
    (folder / "classes.csv").write_text("\n\n")
    fails(folder, "classes.csv is empty")


def test_no_municipality(folder: Path) -> None:
    edit(folder, "orgs.csv", ",district,", ",local,")
    fails(folder, "no municipality: orgs.csv has no org of type district")
    assert read(folder, code="101").batch.municipality is not None


# -- the manifest --------------------------------------------------------------------------


def test_a_bad_manifest_mode(folder: Path) -> None:
    edit(folder, "manifest.csv", "file.users,bulk", "file.users,full")
    fails(folder, r"manifest.csv:\d+: file.users must be bulk, delta or absent, not 'full'")


def test_an_unsupported_version(folder: Path) -> None:
    edit(folder, "manifest.csv", "oneroster.version,1.2", "oneroster.version,2.0")
    fails(folder, r"oneroster.version '2.0' is not supported \(1.0, 1.1 or 1.2\)")


def test_a_manifest_without_version_is_read_by_the_users_header(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(SOURCE.parent / "v1p1", tmp_path / "set"))
    edit(folder, "manifest.csv", "oneroster.version,1.1\n", "")
    assert read(folder, code="230").version == "1.1"


# -- text ----------------------------------------------------------------------------------


def test_a_file_that_is_not_utf8(folder: Path) -> None:
    (folder / "classes.csv").write_bytes(
        "sourcedId,title,schoolSourcedId\ncl-1,Stue Æblet,s-1\n".encode("cp1252")
    )
    fails(folder, r"classes.csv is not UTF-8 text \(line 2, byte b'\\xc6'\): save it as UTF-8")


def test_an_unclosed_quote_stops_the_file_at_the_row_it_opened(folder: Path) -> None:
    edit(folder, "enrollments.csv", "e-3,,,cl-0a", 'e-3,,,"cl-0a')
    fails(folder, r"enrollments.csv:4: unexpected end of data \(is a quote left open\?\)")


# -- limits --------------------------------------------------------------------------------


def test_a_file_over_the_limit(folder: Path) -> None:
    size = (folder / "users.csv").stat().st_size
    fails(
        folder,
        rf"users.csv is {size:,} bytes, over the limit of {size - 1:,} bytes "
        r"\(BUDSTIKKE_IMPORT_MAX_FILE_BYTES\)",
        limit=size - 1,
    )


def _zip(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def test_a_zip_over_the_limit(folder: Path, tmp_path: Path) -> None:
    archive = _zip(folder, tmp_path / "set.zip")
    fails(archive, r"set.zip is [\d,]+ bytes, over the limit of 1,500 bytes", limit=1500)


def test_a_zip_bomb_is_refused_by_its_unpacked_size(folder: Path, tmp_path: Path) -> None:
    (folder / "users.csv").write_bytes((folder / "users.csv").read_bytes() + b"\n" * 3_000_000)
    archive = _zip(folder, tmp_path / "bomb.zip")
    assert archive.stat().st_size < 100_000
    fails(archive, r"users.csv in the zip unpacks to 3,00\d,\d{3} bytes, over the limit")


@pytest.mark.parametrize(
    "name", ["../orgs.csv", "/etc/orgs.csv", "sub\\..\\orgs.csv", "C:/orgs.csv"]
)
def test_zip_path_tricks(folder: Path, tmp_path: Path, name: str) -> None:
    archive = _zip(folder, tmp_path / "set.zip", {name: b"x"})
    fails(archive, "the zip has an unsafe member")


def test_a_zip_with_a_symlink_member(folder: Path, tmp_path: Path) -> None:
    link = zipfile.ZipInfo("users-link.csv")
    link.external_attr = 0o120777 << 16
    archive = _zip(folder, tmp_path / "set.zip")
    with zipfile.ZipFile(archive, "a") as extra:
        extra.writestr(link, "/etc/passwd")
    fails(archive, "unsafe member 'users-link.csv'")


def test_a_zip_with_too_many_members(folder: Path, tmp_path: Path) -> None:
    junk = {f"junk/{n}.txt": b"" for n in range(MAX_ZIP_MEMBERS)}
    fails(_zip(folder, tmp_path / "set.zip", junk), f"more than {MAX_ZIP_MEMBERS}")


def test_a_zip_with_two_sets(folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for top in ("a", "b"):
            for file in folder.iterdir():
                out.write(file, f"{top}/{file.name}")
    fails(archive, r"several OneRoster sets \(a, b\)")


def test_a_corrupt_zip(folder: Path, tmp_path: Path) -> None:
    archive = _zip(folder, tmp_path / "set.zip")
    data = bytearray(archive.read_bytes())
    start = data.index(b"PK\x01\x02")  # the central directory entry of the first file
    data[start + 16 : start + 20] = b"\x00\x00\x00\x00"  # its CRC-32
    archive.write_bytes(bytes(data))
    fails(archive, r"academicSessions.csv in the zip is damaged \(Bad CRC-32")


def test_an_encrypted_zip_member(folder: Path, tmp_path: Path) -> None:
    archive = _zip(folder, tmp_path / "set.zip")
    data = bytearray(archive.read_bytes())
    start = data.index(b"PK\x01\x02")  # the first central directory entry: academicSessions.csv
    data[start + 8] |= 0x01  # general purpose flag bit 0: encrypted
    archive.write_bytes(bytes(data))
    fails(archive, "academicSessions.csv in the zip is encrypted: zip it without a password")


def test_a_stream_longer_than_its_size_claims_is_still_cut_at_the_limit() -> None:
    # A header (or a growing file) may lie about the size; the stream counts for itself.
    entry = _Entry("users.csv", 10, lambda: io.BytesIO(b"sourcedId\n" + b"u-1\n" * 100))
    files = FileSet({"users.csv": entry}, max_file_bytes=50, on_progress=None)
    with (
        pytest.raises(ImportFailed, match=r"users\.csv is larger than the limit of 50 bytes"),
        files.text("users.csv") as stream,
    ):
        stream.read()
