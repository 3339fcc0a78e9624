"""The new text of an emailed reply: the body part, without the quoted mail or a signature.

The plain-text part is preferred; a mail with only HTML is converted to text, dropping
what mail clients quote (``<blockquote>``, Gmail's ``gmail_quote``, Outlook's reply
header block). Quoted history is cut with ``mailparser_reply`` (its Danish and English
"On … wrote:" / "Den … skrev …:" and Outlook "From:/Sent:" / "Fra:/Sendt:" headers),
and then by our own rules, which also run where the library finds nothing: ``>`` lines,
the same header forms on one or two lines, "Original Message" separators, the RFC 3676
``-- `` signature separator and "Sent from my …" lines.

The library's own signature detection is not used: it cuts everything from a line
starting with "Tak", "Hilsen" or "- " to the end, which loses real text in Danish
("Tak for beskeden, vi kommer") and bulleted lists.
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from html.parser import HTMLParser

import structlog
from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage as ParsedReply

log = structlog.get_logger(__name__)

LANGUAGES = ("da", "en")
MAX_INPUT_CHARS = 200_000  # a body part larger than this is cut before parsing

_WROTE = re.compile(r"^\s*(?:on\s.+\swrote|den\s.+\sskrev(?:\s.+)?)\s*:\s*$", re.IGNORECASE)
_WROTE_START = re.compile(r"^\s*(?:on|den)\s", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*-{3,}\s*(?:original message|oprindelig meddelelse|forwarded message|"
    r"videresendt meddelelse)\s*-{3,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FIELD = re.compile(
    r"^\s*\**(?:from|fra|sent|sendt|to|til|subject|emne|date|dato)\s*\**:", re.IGNORECASE
)
_SIGNATURE = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    "^\\s*(?:" + "|".join(MAIL_LANGUAGES[lang]["sent_from"] for lang in LANGUAGES) + ")",
    re.IGNORECASE,
)


def body_text(message: EmailMessage) -> str:
    """The text a person wrote, from the text/plain part, else the HTML part; may be ''."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _content(part)[:MAX_INPUT_CHARS]
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    elif str(part.get_param("format", "")).lower() == "flowed":
        content = unflow(content, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return new_text(content)


def new_text(text: str) -> str:
    """``text`` without the quoted mail below it and without a signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        parsed = ParsedReply(text=text, languages=list(LANGUAGES)).read()
    except Exception:  # a library failure must not lose the reply: our rules still run
        log.warning("reply parser failed; using the fallback rules only", exc_info=True)
    else:
        if parsed.replies:
            text = parsed.replies[0].full_body
    return _strip(text)


def _strip(text: str) -> str:
    kept: list[str] = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _SEPARATOR.match(line) or _SIGNATURE.match(line) or _SENT_FROM.match(line):
            break
        if _WROTE.match(line) or (_WROTE_START.match(line) and _WROTE.match(f"{line} {following}")):
            break  # the history starts here (its header may be wrapped over two lines)
        if _OUTLOOK_FIELD.match(line) and _OUTLOOK_FIELD.match(following):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 ``format=flowed`` lines that were soft-wrapped."""
    out: list[str] = []
    buffer = ""
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw[1:] if raw.startswith(" ") else raw  # undo space-stuffing
        if line.endswith(" ") and line != "-- ":
            buffer += line[:-1] if delsp else line
            continue
        out.append(buffer + line)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError):
        # An unknown or wrong charset: decode what is there rather than lose the reply.
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


_BLOCK = frozenset(
    {
        *("address", "article", "aside", "dd", "div", "dl", "dt", "footer", "form", "header"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "nav", "ol", "p", "pre"),
        *("section", "table", "tbody", "thead", "tfoot", "tr", "ul"),
    }
)
_SKIP = frozenset({"head", "script", "style", "title", "template", "noscript", "blockquote"})
# Containers mail clients put the quoted original in (Gmail, Thunderbird, Outlook, Apple).
_QUOTE_CLASSES = frozenset({"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"})
_QUOTE_IDS = frozenset({"mail-editor-reference-message-container"})
# Outlook: everything after an element with one of these ids is the original.
_OUTLOOK_MARKERS = frozenset({"appendonsend", "divrplyfwdmsg"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _TextExtractor(HTMLParser):
    """HTML to plain text: blocks become lines, quoted originals are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, starts a skipped subtree)
        self._skipping = 0
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._done:
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").lower().split())
        element_id = (values.get("id") or "").lower()
        if element_id in _OUTLOOK_MARKERS and not self._skipping:
            self._done = True
            return
        skip = tag in _SKIP or bool(classes & _QUOTE_CLASSES) or element_id in _QUOTE_IDS
        if tag in _VOID:
            if tag == "br" and not self._skipping:
                self.parts.append("\n")
            elif tag == "hr" and not self._skipping:
                self.parts.append("\n\n")
            return
        self._stack.append((tag, skip))
        if skip:
            self._skipping += 1
        elif not self._skipping and tag in _BLOCK:
            self.parts.append("\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if self._done or tag in _VOID:
            return
        # Close up to the matching tag, so sloppy mail HTML cannot leave a skip open.
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                for _, skipped in self._stack[index:]:
                    self._skipping -= skipped
                del self._stack[index:]
                break
        if not self._skipping and tag in _BLOCK and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._done and not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (line.strip() for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail body, without what it quotes."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()
