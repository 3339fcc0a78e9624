"""RFC 3464 delivery status notifications, as Postfix, Exchange and Gmail write them."""

from __future__ import annotations

import uuid

import pytest

from gateway.delivery import dsn
from tests import dsn_samples

DOMAIN = "skole.example.dk"
DELIVERY = uuid.UUID("0190f0b0-1234-7000-8000-00000000abcd")
MESSAGE_ID = f"<{DELIVERY}@{DOMAIN}>"


def _report(data: bytes) -> dsn.Report:
    report = dsn.parse(dsn.parse_bytes(data))
    assert report is not None
    return report


def test_postfix_hard_bounce() -> None:
    report = _report(dsn_samples.postfix(MESSAGE_ID))
    assert report.reporting_mta == "mail.example.net"
    assert report.original_message_id == MESSAGE_ID
    [line] = report.recipients
    assert line.final_recipient == line.original_recipient == "anna@example.net"
    assert (line.action, line.status, line.permanent, line.temporary) == (
        "failed",
        "5.1.1",
        True,
        False,
    )
    # The folded Diagnostic-Code is one line, the address type prefix gone.
    assert line.diagnostic == (
        "550 5.1.1 <anna@example.net>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    assert line.reason.startswith("dsn 5.1.1 550 5.1.1")
    assert dsn.delivery_id(report, DOMAIN) == DELIVERY


def test_postfix_soft_and_delayed() -> None:
    expired = _report(
        dsn_samples.postfix(
            MESSAGE_ID, status="4.4.7", diagnostic="X-Postfix; delivery temporarily suspended"
        )
    ).recipients[0]
    assert (expired.permanent, expired.temporary) == (False, True)
    delayed = _report(dsn_samples.postfix(MESSAGE_ID, action="delayed", status="4.4.1"))
    # Still being tried by the relay: neither a bounce nor a retry for us.
    assert (delayed.recipients[0].permanent, delayed.recipients[0].temporary) == (False, False)


def test_exchange_ndr_with_the_whole_original_and_a_three_digit_detail() -> None:
    report = _report(dsn_samples.exchange(MESSAGE_ID))
    [line] = report.recipients
    assert line.final_recipient == "anna@contoso.com"
    assert line.status == "5.1.10"
    assert line.permanent
    assert "RESOLVER.ADR.RecipientNotFound" in (line.diagnostic or "")
    assert dsn.delivery_id(report, DOMAIN) == DELIVERY


def test_gmail_names_the_original_in_the_report_block_too() -> None:
    report = _report(dsn_samples.gmail(MESSAGE_ID))
    assert report.recipients[0].permanent
    assert report.original_message_id == MESSAGE_ID
    assert dsn.delivery_id(report, DOMAIN) == DELIVERY
    without_headers = dsn_samples.gmail(MESSAGE_ID).replace(
        f"\r\nMessage-ID: {MESSAGE_ID}\r\n\r\n--".encode(), b"\r\n\r\n--"
    )
    assert _report(without_headers).original_message_id == MESSAGE_ID


def test_status_from_the_diagnostic_when_the_field_is_missing() -> None:
    data = dsn_samples.postfix(MESSAGE_ID).replace(b"Status: 5.1.1\r\n", b"")
    assert _report(data).recipients[0].status == "5.1.1"
    bare = data.replace(b"550 5.1.1 <anna", b"550 <anna").replace(b"said: 550 5.1.1", b"")
    # Nothing to read it from: a failure counts as permanent.
    assert _report(bare).recipients[0].status == "5.0.0"


def test_a_mail_of_another_domain_or_no_id_names_no_delivery() -> None:
    elsewhere = _report(dsn_samples.postfix(f"<{DELIVERY}@other.example.org>"))
    assert dsn.delivery_id(elsewhere, DOMAIN) is None
    not_ours = _report(dsn_samples.postfix("<CAF=abc123@mail.gmail.com>"))
    assert dsn.delivery_id(not_ours, DOMAIN) is None


def test_envelope_id_is_used_when_no_headers_came_back() -> None:
    data = dsn_samples.postfix("<x@y>").replace(
        b"Reporting-MTA: dns; mail.example.net\r\n",
        f"Reporting-MTA: dns; mail.example.net\r\nOriginal-Envelope-Id: {DELIVERY}\r\n".encode(),
    )
    report = _report(data)
    assert report.envelope_id == str(DELIVERY)
    assert dsn.delivery_id(report, DOMAIN) == DELIVERY


@pytest.mark.parametrize(
    "data",
    [
        b"From: a@b\r\nSubject: hello\r\n\r\nnot a report\r\n",
        # A report of another type (RFC 8098 read receipt).
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n"
        b"\r\n--x\r\nContent-Type: text/plain\r\n\r\nread\r\n--x--\r\n",
        # A delivery-status report without its status part.
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n"
        b"\r\n--x\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--x--\r\n",
    ],
)
def test_what_is_not_a_delivery_status_notification(data: bytes) -> None:
    assert dsn.parse(dsn.parse_bytes(data)) is None
