"""Single cells: dates, booleans, status, lists, e-mail, UNI-Login and language tags."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from gateway.roster.oneroster import contacts
from gateway.roster.oneroster.cells import RowRefused, is_deleted, parse_boolean, split_list
from gateway.roster.oneroster.dates import parse_date
from gateway.roster.oneroster.table import Row

CPH = ZoneInfo("Europe/Copenhagen")
AUGUST_1 = dt.date(2024, 8, 1)


@pytest.mark.parametrize(
    "raw",
    [
        "2024-08-01",
        " 2024-08-01 ",
        "2024-08-01T00:00:00Z",
        "2024-08-01T00:00:00.000Z",
        "2024-08-01T12:30:00+02:00",
        "2024-07-31T22:00:00Z",  # midnight in Copenhagen, written in UTC
        "2024-08-01 08:15:00",
        "01-08-2024",
        "01.08.2024",
        "1.8.2024",
        "01/08/2024",
        "2024/08/01",
        "2024.08.01",
        "20240801",
        "01/8/2024",
    ],
)
def test_dates_in_every_accepted_form(raw: str) -> None:
    assert parse_date(raw, CPH) == AUGUST_1


def test_a_month_first_date_is_read_only_when_the_day_gives_it_away() -> None:
    assert parse_date("08/31/2024", CPH) == dt.date(2024, 8, 31)
    assert parse_date("31/08/2024", CPH) == dt.date(2024, 8, 31)
    assert parse_date("03/04/2024", CPH) == dt.date(2024, 4, 3)  # Danish: 3 April


@pytest.mark.parametrize(
    "raw",
    ["2024-13-01", "2024-02-30", "01-08-24", "1 August 2024", "tomorrow", "2024", "13/13/2024"],
)
def test_malformed_dates_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_date(raw, CPH)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("ja", True),
        ("nej", False),
        ("1", True),
        ("0", False),
        ("", None),
    ],
)
def test_booleans(raw: str, value: bool | None) -> None:
    assert parse_boolean(raw, "enabledUser") is value


def test_a_bad_boolean_names_its_column() -> None:
    with pytest.raises(RowRefused, match="bad boolean 'perhaps' in primary"):
        parse_boolean("perhaps", "primary")


def _row(status: str) -> Row:
    return Row([status], {"status": 0}, "users.csv", 2)


@pytest.mark.parametrize(
    ("status", "delta", "deleted"),
    [
        ("", False, False),
        ("active", True, False),
        ("Active", False, False),
        ("tobedeleted", True, True),
        ("ToBeDeleted", False, True),
        ("inactive", True, True),
    ],
)
def test_status(status: str, delta: bool, deleted: bool) -> None:
    assert is_deleted(_row(status), delta=delta) is deleted


def test_a_delta_row_needs_a_status_and_a_bad_one_is_refused() -> None:
    with pytest.raises(RowRefused, match="missing required value status"):
        is_deleted(_row(""), delta=True)
    with pytest.raises(RowRefused, match="bad status 'removed'"):
        is_deleted(_row("removed"), delta=False)


def test_lists_drop_blanks_and_spaces() -> None:
    assert split_list(" a, b,,c ,") == ["a", "b", "c"]
    assert split_list("") == []


def test_emails_are_split_checked_and_domains_lower_cased() -> None:
    kept, refused = contacts.emails(
        "Ane.Berg@Skole.DK, ane@example.dk; <ane@example.dk> no@dot  two@@x.dk"
    )
    assert kept == ("Ane.Berg@skole.dk", "ane@example.dk")
    assert refused == ["no@dot", "two@@x.dk"]


@pytest.mark.parametrize(
    ("raw", "login"),
    [
        ("{UNI-Login:abcd1234}", "abcd1234"),
        ("{LDAP:x},{unilogin:abcd1234}", "abcd1234"),
        ("{ UNI_LOGIN : abcd1234 }", "abcd1234"),
        ("UNI-Login:abcd1234,LDAP:x", "abcd1234"),
        ("{LDAP:abcd1234}", None),
        ("", None),
    ],
)
def test_uni_login_from_user_ids(raw: str, login: str | None) -> None:
    assert contacts.uni_login(raw) == login


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("", "da"),
        ("da", "da"),
        ("EN", "en"),
        ("da_dk", "da-DK"),
        ("ar", "ar"),
        ("zh-Hant", "zh-Hant"),
        ("Danish!", None),
        ("d", None),
    ],
)
def test_language_tags(raw: str, tag: str | None) -> None:
    assert contacts.locale(raw) == tag
