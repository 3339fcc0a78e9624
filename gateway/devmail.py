"""The development mail catcher: an SMTP sink that keeps each mail as a file, and its reader.

``budstikke run`` without ``BUDSTIKKE_SMTP_HOST`` starts it on a free loopback port and
points the email channel at it, so every notification the demo sends can be read at
``/dev/mail`` (``BUDSTIKKE_DEV_MAIL``). Mails are files under ``<data folder>/dev-mail/``,
named by arrival time, so the folder is the whole state and the API process reads what
the catcher process wrote; only the newest :data:`KEEP` are kept.

:func:`send_reply` answers a caught mail the way a mail client would (quoting it, with
``In-Reply-To``) through the real inbound listener, so the demo exercises the same path
as a guardian's mail program.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr, parsedate_to_datetime
from pathlib import Path

import aiosmtplib
import msgspec
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.config import Settings
from gateway.errors import Conflict, NotFound, Unavailable
from gateway.inbound_server import quiet_aiosmtpd

FOLDER = "dev-mail"
KEEP = 500
MAX_MAIL_BYTES = 10 * 1024 * 1024
MAX_REPLY_CHARS = 20_000
_ID = re.compile(r"^\d{20}-[0-9a-f]{8}$")


class MailSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One caught mail in the list."""

    id: str
    sender: str
    to: str
    subject: str
    date: dt.datetime | None


class MailView(msgspec.Struct, frozen=True, kw_only=True):
    """One caught mail, read."""

    id: str
    headers: list[tuple[str, str]]
    subject: str
    sender: str
    to: str
    reply_to: str | None
    message_id: str | None
    date: str | None
    text: str | None
    html: str | None


class MailStore:
    """The folder of caught mails: newest first, at most ``keep`` of them."""

    def __init__(self, folder: Path, *, keep: int = KEEP) -> None:
        self.folder = folder
        self._keep = keep

    @classmethod
    def of(cls, settings: Settings) -> MailStore:
        return cls(settings.data_dir / FOLDER)

    def save(self, data: bytes, *, mail_from: str, rcpt_tos: list[str]) -> str:
        """Store one mail (with its envelope as headers on top); its id."""
        self.folder.mkdir(parents=True, exist_ok=True)
        mail_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        envelope = f"Return-Path: <{mail_from}>\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        partial = self.folder / f".{mail_id}.tmp"
        partial.write_bytes(envelope.encode() + data)
        partial.rename(self.folder / f"{mail_id}.eml")  # readers never see half a mail
        self._prune()
        return mail_id

    def ids(self) -> list[str]:
        """Every stored id, newest first."""
        if not self.folder.is_dir():
            return []
        return sorted(
            (p.stem for p in self.folder.glob("*.eml") if _ID.match(p.stem)), reverse=True
        )

    def summaries(self, limit: int = KEEP) -> list[MailSummary]:
        """The newest mails' senders, recipients, subjects and dates."""
        found: list[MailSummary] = []
        for mail_id in self.ids()[:limit]:
            try:
                with self._path(mail_id).open("rb") as file:
                    headers = BytesHeaderParser(policy=policy.default).parse(file)
            except FileNotFoundError:
                continue  # pruned meanwhile
            found.append(
                MailSummary(
                    id=mail_id,
                    sender=str(headers.get("From", "")),
                    to=str(headers.get("To", "")),
                    subject=str(headers.get("Subject", "")),
                    date=_date(headers.get("Date")),
                )
            )
        return found

    def read(self, mail_id: str) -> MailView:
        """One mail's headers and its text and HTML parts; NotFound for an unknown id."""
        try:
            data = self._path(mail_id).read_bytes()
        except FileNotFoundError:
            raise NotFound("no such caught mail (only the newest 500 are kept)") from None
        message = BytesParser(policy=policy.default).parsebytes(data)
        assert isinstance(message, EmailMessage)
        return MailView(
            id=mail_id,
            headers=[(name, str(value)) for name, value in message.items()],
            subject=str(message.get("Subject", "")),
            sender=str(message.get("From", "")),
            to=str(message.get("To", "")),
            reply_to=str(message["Reply-To"]) if message["Reply-To"] else None,
            message_id=str(message["Message-ID"]).strip() if message["Message-ID"] else None,
            date=str(message["Date"]) if message["Date"] else None,
            text=_part(message, "plain"),
            html=_part(message, "html"),
        )

    def _path(self, mail_id: str) -> Path:
        if not _ID.match(mail_id):
            raise NotFound("no such caught mail")
        return self.folder / f"{mail_id}.eml"

    def _prune(self) -> None:
        for mail_id in self.ids()[self._keep :]:
            self._path(mail_id).unlink(missing_ok=True)


def _date(value: object) -> dt.datetime | None:
    try:
        return parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        return None


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return None
    return content if isinstance(content, str) else None


class CatcherHandler:
    """aiosmtpd hooks: take every recipient, store every mail."""

    def __init__(self, store: MailStore) -> None:
        self._store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        mail_id = await asyncio.to_thread(
            self._store.save,
            data,
            mail_from=str(envelope.mail_from or ""),
            rcpt_tos=[str(rcpt) for rcpt in envelope.rcpt_tos],
        )
        return f"250 2.0.0 caught as {mail_id}"


async def serve(store: MailStore, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """The catcher listening on ``host:port`` (0: a free port) in the running loop."""
    loop = asyncio.get_running_loop()
    handler = CatcherHandler(store)
    quiet_aiosmtpd()

    def make() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=MAX_MAIL_BYTES,
            enable_SMTPUTF8=True,
            hostname="dev-mail.localhost",
            ident="Budstikke dev mail catcher",
            loop=loop,
        )

    return await loop.create_server(make, host, port)


class ThreadedCatcher:
    """The catcher on its own thread and event loop, for the synchronous ``budstikke run``."""

    def __init__(self, store: MailStore, host: str = "127.0.0.1", port: int = 0) -> None:
        self._store = store
        self._address = (host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> int:
        """Listen; the port it listens on."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="dev-mail", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the dev mail catcher did not start within 10 s")
        if failure:
            raise RuntimeError(f"the dev mail catcher could not listen: {failure[0]}")
        return self.port

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(serve(self._store, *self._address))
        except OSError as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()

    def stop(self) -> None:
        """Stop listening and end the thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


def quoted_reply(view: MailView, body: str) -> str:
    """``body`` above the original, quoted as mail clients do."""
    who = view.sender or "Budstikke"
    original = (view.text or "").replace("\r\n", "\n").rstrip("\n")
    quoted = "\n".join(f"> {line}" if line else ">" for line in original.split("\n"))
    return f"{body.strip()}\n\nOn {view.date or 'an earlier day'}, {who} wrote:\n{quoted}\n"


def reply_message(view: MailView, body: str) -> EmailMessage:
    """The answer a guardian's mail client would send to a caught notification."""
    if not view.reply_to:
        raise Conflict("this mail has no Reply-To address, so it cannot be answered by email")
    if len(body) > MAX_REPLY_CHARS:
        raise Conflict(f"a reply may be at most {MAX_REPLY_CHARS} characters")
    sender = getaddresses([view.to])[0][1] if view.to else ""
    if not sender:
        raise Conflict("this mail has no To address to answer from")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = view.reply_to
    subject = view.subject
    message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "dev.localhost")
    if view.message_id:
        message["In-Reply-To"] = view.message_id
        message["References"] = view.message_id
    message.set_content(quoted_reply(view, body))
    return message


async def send_reply(settings: Settings, view: MailView, body: str) -> tuple[int, str]:
    """Send the answer to the inbound listener; its SMTP answer (a refusal is an answer too)."""
    message = reply_message(view, body)
    sender = parseaddr(str(message["From"]))[1]
    recipient = parseaddr(str(message["To"]))[1]
    host, port = settings.inbound_smtp_host, settings.inbound_smtp_port
    try:
        _, answer = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=[recipient],
            hostname=host,
            port=port,
            start_tls=False,
            timeout=30,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0]
        return refused.code, refused.message
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise Unavailable(
            f"the inbound listener at {host}:{port} is not reachable ({type(exc).__name__}); "
            "is `budstikke inbound-smtp` running?"
        ) from exc
    return 250, answer
