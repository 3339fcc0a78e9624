"""The enumerations settings take (kept apart so the variable tables can import them)."""

from __future__ import annotations

import enum


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class SubjectMatch(enum.StrEnum):
    """Which column of ``people`` a token's subject is matched against."""

    SOURCE_ID = "source_id"
    UNI_LOGIN = "uni_login"


class SmtpTls(enum.StrEnum):
    """How the email channel secures its SMTP connection."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"
