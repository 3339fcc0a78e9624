"""Delivery settings: channels, mail, calm rules, jobs, webhooks, metrics."""

from __future__ import annotations

from pathlib import Path

from gateway.config_enums import SmtpTls
from gateway.config_values import (
    parse_bool,
    parse_clock,
    parse_clock_range,
    parse_domain,
    parse_host,
    parse_int_between,
    parse_mailbox,
    parse_portal_thread_url,
    parse_public_url,
    parse_vapid_private_key,
    parse_vapid_subject,
    parse_working_hours,
)
from gateway.config_variables import Variable

DELIVERY: tuple[Variable, ...] = (
    Variable(
        "vapid_private_key",
        parse_vapid_private_key,
        None,
        "The web push (VAPID) private key, base64url or PEM; make one with "
        "`budstikke vapid-keys`. Unset: the web push channel is off.",
    ),
    Variable(
        "vapid_subject",
        parse_vapid_subject,
        None,
        "Contact for push services, `mailto:…` or `https://…` "
        "(needed with `BUDSTIKKE_VAPID_PRIVATE_KEY`).",
    ),
    Variable(
        "push_concurrency",
        parse_int_between(1, 10_000),
        "50",
        "Most web push requests in flight at once per push service (origin).",
    ),
    Variable(
        "push_timeout_seconds",
        parse_int_between(1, 300),
        "10",
        "Timeout of one web push request, in seconds; a timeout is retried later.",
    ),
    Variable(
        "smtp_host",
        parse_host,
        None,
        "SMTP server the email channel sends through. Unset: the email channel is off.",
    ),
    Variable("smtp_port", parse_int_between(1, 65535), "587", "Port of the SMTP server."),
    Variable(
        "smtp_tls",
        SmtpTls,
        "starttls",
        "`starttls` (upgrade after connecting), `tls` (TLS from the start, port 465) "
        "or `none` (only for a local relay).",
    ),
    Variable("smtp_username", str, None, "SMTP login name. Unset: no authentication."),
    Variable("smtp_password", str, None, "SMTP password (needed with `BUDSTIKKE_SMTP_USERNAME`)."),
    Variable(
        "smtp_from",
        parse_mailbox,
        None,
        "Sender of notification mail, e.g. `Budstikke <no-reply@example.dk>` "
        "(needed with `BUDSTIKKE_SMTP_HOST`).",
    ),
    Variable(
        "smtp_pool_size",
        parse_int_between(1, 64),
        "4",
        "Most SMTP connections open at once; each is reused for many messages.",
    ),
    Variable(
        "smtp_timeout_seconds",
        parse_int_between(1, 600),
        "30",
        "Timeout of each SMTP connect and command, in seconds.",
    ),
    Variable(
        "secret_key",
        str,
        None,
        "Key that signs reply, unsubscribe and answer links (32+ characters). "
        "Unset: one is made once and kept in the data folder (`secret.key`).",
    ),
    Variable(
        "public_url",
        parse_public_url,
        None,
        "The gateway's public URL, used in links in mail and push. Unset: `http://HOST:PORT`.",
    ),
    Variable(
        "portal_thread_url",
        parse_portal_thread_url,
        None,
        "Where a notification's link sends its reader, with `{thread_id}`, e.g. "
        "`https://portal.kommune.dk/beskeder/{thread_id}`. Unset: a gateway page.",
    ),
    Variable(
        "mail_domain",
        parse_domain,
        None,
        "Domain of reply addresses (`r-…@DOMAIN`) and Message-IDs; its MX must reach "
        "`budstikke inbound-smtp`. Unset: the domain of `BUDSTIKKE_SMTP_FROM`.",
    ),
    Variable(
        "dkim_private_key_file",
        Path,
        None,
        "PEM file of the DKIM signing key. Unset: mail is not DKIM-signed.",
    ),
    Variable(
        "dkim_selector",
        str,
        None,
        "DKIM selector published in DNS (needed with `BUDSTIKKE_DKIM_PRIVATE_KEY_FILE`).",
    ),
    Variable("inbound_smtp_host", str, "127.0.0.1", "Address `budstikke inbound-smtp` listens on."),
    Variable(
        "inbound_smtp_port",
        parse_int_between(1, 65535),
        "2525",
        "Port `budstikke inbound-smtp` listens on (replies by email and bounces).",
    ),
    Variable(
        "inbound_max_bytes",
        parse_int_between(1024, 50 * 1024 * 1024),
        "1048576",
        "Largest mail the inbound listener accepts, in bytes; larger is refused with 552.",
    ),
    Variable(
        "reply_token_days",
        parse_int_between(1, 3650),
        "60",
        "Days a reply-by-email address and an unsubscribe link stay valid.",
    ),
    Variable(
        "quiet_hours",
        parse_clock_range,
        "20:00-07:00",
        "Guardians' default quiet hours (institution time): push and email wait.",
    ),
    Variable(
        "working_hours",
        parse_working_hours,
        "mon-fri 07:30-16:30",
        "Staff's default working hours (institution time): outside them push and email wait.",
    ),
    Variable(
        "digest_time",
        parse_clock,
        "17:00",
        "Default time of day of the digest mail for people who chose `digest`.",
    ),
    Variable(
        "escalate_email_after_seconds",
        parse_int_between(0, 30 * 86_400),
        "86400",
        "A person with a push subscription gets the email only if the item is still "
        "unread this long after; `0` sends both at once.",
    ),
    Variable(
        "queue_name",
        str,
        "arq:queue",
        "Redis key of the job queue; API and workers of one deployment must agree.",
    ),
    Variable(
        "delivery_chunk_size",
        parse_int_between(1, 10_000),
        "500",
        "Deliveries per `deliver` job.",
    ),
    Variable(
        "delivery_give_up_seconds",
        parse_int_between(60, 30 * 86_400),
        "172800",
        "A delivery still failing this long after it was planned is marked `failed`.",
    ),
    Variable(
        "delivery_lease_seconds",
        parse_int_between(5, 3600),
        "300",
        "How long a deliver job holds its chunk; a job that dies lets go after this.",
    ),
    Variable(
        "outbox_sweep_after_seconds",
        parse_int_between(1, 86_400),
        "30",
        "Outbox rows older than this and not done are enqueued again by the sweeper.",
    ),
    Variable(
        "push_subscription_expire_days",
        parse_int_between(1, 3650),
        "120",
        "A push subscription that took no push for this many days is dropped.",
    ),
    Variable(
        "webhook_timeout_seconds",
        parse_int_between(1, 120),
        "10",
        "Timeout of one webhook request, in seconds.",
    ),
    Variable(
        "webhook_max_failures",
        parse_int_between(1, 10_000),
        "50",
        "Failed webhook deliveries in a row after which the endpoint is disabled.",
    ),
    Variable(
        "webhook_allow_private",
        parse_bool,
        "false",
        "Allow webhook URLs on private, loopback or link-local addresses.",
    ),
    Variable(
        "worker_metrics_port",
        parse_int_between(0, 65535),
        "0",
        "Port of the worker's Prometheus metrics (`/metrics`); `0`: off.",
    ),
    Variable(
        "dev_mail",
        parse_bool,
        "false",
        "Show the mail the development SMTP catcher took at `/dev/mail` (`budstikke run`).",
    ),
    Variable(
        "metrics_token",
        str,
        None,
        "Bearer token `GET /metrics` requires (`Authorization: Bearer …`). "
        "Unset: `/metrics` is open; serve it on an internal network only.",
    ),
)
