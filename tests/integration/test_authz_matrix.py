"""The authorization matrix: every endpoint × every kind of caller, each cell one exact status.

Each endpoint is one :class:`Endpoint` line: what the callers who may use it get, and
what everyone else gets (``others``). Credentials that must never pass
(:data:`~tests.integration.authz_callers.BAD_CREDENTIALS`: no token, expired, wrong
audience or issuer, ``alg: none``, HS256 signed with the provider's public key, a
stranger's key, an unknown or deactivated person, a revoked key, …) get 401 on every
endpoint that needs a caller; systems get 403 on people's endpoints and people 403 on
systems' ones, unless a rule says otherwise. What a caller may not see is 404, not 403.

Every 2xx body is also read for leaks (:func:`leaks`): no e-mail address but the
caller's own, no protected person's real name to non-staff (but to themself and their
custodial guardians), no id of the other municipality's people, no id of a thread,
consent, notice, push subscription or webhook to anyone outside it, no word of the
sensitive thread to anyone without a strong enough login, and no webhook secret outside
the answers that hand one out.

A handful of rows are variants of one operation (``label``): the same path with another
tenant, a made-up group, the sensitive thread. Destructive operations act on things of
their own (``message_to_recall``, ``notice_to_withdraw``, …), and cells run in table
order, so one caller's success does not change another's answer.

The world (two municipalities, the things reached for, every caller's credentials) is
built once per engine; see :mod:`tests.integration.authz_callers`. A cell whose answer
is wrong today is ``xfail(strict=True)`` with the fix in its reason: when the product is
fixed, the cell fails until the mark goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.authz_callers import (
    BAD_CREDENTIALS,
    CALLERS,
    CHILD,
    CLASS,
    CO_TEACHER,
    DAYCARE_CHILD,
    DEMO,
    EMAIL,
    KEYS,
    OTHER,
    PERSON_CALLERS,
    SENSITIVE,
    STAFF,
    YOUNG_PUPIL,
    MatrixWorld,
    audience,
    matrix_world,
    push_subscription,
)

Body = Callable[[MatrixWorld, str], Any]

# Who is in the teacher's thread to 3.A and 8.A (guardians and children): the custodial
# guardian, the two pupils; the sender; a system acting for the sender.
IN_THREAD = ("guardian", "pupil", "young_pupil")
STAFF_PEOPLE = (
    "teacher",
    "teacher_other_group",
    "leader",
    "staff_other_institution",
    "staff_other_municipality",
    "pedagogue",
)
# On endpoints that act for a person (sender_guard), a system's key acting for staff is
# the teacher; anything else a key does there is 403.
ACTING = {
    "key_for_teacher": "key_send",
    "key_report_for_teacher": "key_report",
    "key_scoped_for_teacher": "key_scoped",
    "key_for_guardian": "key_send",
    "key_for_other_municipality_staff": "key_send",
}


@dataclass(frozen=True)
class Endpoint:
    """One operation and who gets what from it."""

    method: str
    path: str  # as in the OpenAPI document
    ok: Mapping[str, int]  # callers with their own answer (mostly the 2xx ones)
    others: int = 404  # every other person (and key acting for one)
    keys: int = 403  # systems' keys that are not in ``ok``
    params: Mapping[str, str] = field(default_factory=dict)  # path parameter: world id name
    body: Body | None = None
    upload: bool = False
    public: bool = False  # no credentials needed: ``others`` for everyone
    # A person's export (right of access): their addresses and their threads, sensitive
    # ones too, are what it is for.
    export: bool = False
    acting: bool = False  # honours Budstikke-On-Behalf-Of (a key may act for staff)
    xfail: Mapping[str, str] = field(default_factory=dict)
    label: str = ""

    def expected(self, caller: str) -> int:
        if caller == "teacher_naming_leader":
            # A person's token with Budstikke-On-Behalf-Of is refused where the header
            # counts, and is just the teacher elsewhere.
            return 403 if self.acting else self.expected("teacher")
        if caller in self.ok:
            return self.ok[caller]
        if caller == "guardian_low_acr":
            # The same person as "guardian": only sensitive content needs the stronger login.
            return self.expected("guardian")
        if caller in ACTING:
            if self.acting:
                # Acting for the teacher is being the teacher; naming anyone else, or
                # lacking the right to act, is refused.
                return self.expected("teacher") if caller == "key_for_teacher" else 403
            # Elsewhere the header is ignored: the key is itself.
            return self.expected(ACTING[caller])
        if self.public:
            return self.others
        if caller in BAD_CREDENTIALS:
            return 401
        if caller in KEYS:
            return self.keys
        return self.others

    def url(self, w: MatrixWorld) -> str:
        path = self.path
        for name, thing in self.params.items():
            value = thing.removeprefix("=") if thing.startswith("=") else w.id(thing)
            path = path.replace("{" + name + "}", value)
        return path


def every(status: int, *callers: str) -> dict[str, int]:
    return dict.fromkeys(callers, status)


def people(status: int = 200, **extra: int) -> dict[str, int]:
    """Any signed-in person gets ``status`` (a person's own things)."""
    return every(status, *PERSON_CALLERS) | extra


def acting(method: str, path: str, ok: Mapping[str, int], **options: Any) -> Endpoint:
    """An endpoint that acts for a person: a key with ``send`` may act for staff."""
    return Endpoint(method, path, ok, acting=True, **options)


def roster(kind: str) -> Endpoint:
    """``PUT /v1/roster/0999/{kind}``: keys with ``roster`` in 0999; everyone else 403,
    except the other tenant, who learns nothing (404)."""
    return Endpoint(
        "PUT",
        "/v1/roster/{municipality}/" + kind,
        {
            "key_roster": 200,
            # Institutions are municipality-wide; the rest names school-02, outside it.
            "key_scoped": 403 if kind == "institutions" else 422,
            "key_other_municipality": 404,
            "staff_other_municipality": 404,
        },
        others=403,
        params={"municipality": "=" + DEMO},
        body=lambda w, caller: {"items": ROSTER_ITEMS[kind]},
        label="roster",
    )


ROSTER_ITEMS: dict[str, list[dict[str, Any]]] = {
    "institutions": [{"source_id": "authz-school", "kind": "school", "name": "Authz skole"}],
    "groups": [
        {"source_id": "authz-9z", "institution": "school-02", "kind": "class", "name": "9.Z"}
    ],
    "people": [
        {"source_id": "authz-child", "kind": "child", "given_name": "Ny", "family_name": "Elev"}
    ],
    "affiliations": [{"person": "authz-child", "institution": "school-02", "role": "student"}],
    "guardianships": [{"child": "authz-child", "guardian": "guardian-000003", "custody": True}],
    "memberships": [{"group": "authz-9z", "person": "authz-child", "role": "child"}],
}


def _message(w: MatrixWorld, caller: str) -> Any:
    return {
        "subject": "Forældremøde",
        "body": "Torsdag kl. 19.",
        "audience": audience(w, "guardians"),
    }


def _announcement(w: MatrixWorld, caller: str) -> Any:
    return {"subject": "Juleklip", "body": "Tag saks med.", "audience": audience(w, "guardians")}


def _consent(w: MatrixWorld, caller: str) -> Any:
    return {
        "title": "Tur til Zoo",
        "question": "Må dit barn komme med?",
        "kind": "permission",
        "audience": audience(w, "children"),
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat(),
    }


def _answers(w: MatrixWorld, caller: str) -> Any:
    # Each answers for the child they would: a pupil for themself, everyone else for CHILD.
    child = YOUNG_PUPIL if caller == "young_pupil" else CHILD
    return {"answers": [{"child_id": w.id(child), "option": "yes"}]}


def _withdraw(w: MatrixWorld, caller: str) -> Any:
    child = YOUNG_PUPIL if caller == "young_pupil" else CHILD
    return {"child_ids": [w.id(child)]}


def _notice(w: MatrixWorld, caller: str) -> Any:
    tomorrow = dt.datetime.now(ZoneInfo("Europe/Copenhagen")).date() + dt.timedelta(days=1)
    return {"child_id": w.id(DAYCARE_CHILD), "kind": "off", "from_date": tomorrow.isoformat()}


def _auto_reply(w: MatrixWorld, caller: str) -> Any:
    return {
        "starts_at": "2099-01-01T08:00:00+00:00",
        "ends_at": "2099-01-05T08:00:00+00:00",
        "body": "Jeg er på kursus.",
    }


def _preview(w: MatrixWorld, caller: str) -> Any:
    return audience(w, "guardians", groups=(CLASS,))


def _json(value: Any) -> Body:
    return lambda w, caller: value


def _made_up_message(w: MatrixWorld, caller: str) -> Any:
    target = {
        "type": "group",
        "group": "01a23cb2-0000-7000-8000-000000000000",
        "roles": ["guardians"],
    }
    return _message(w, caller) | {"audience": {"targets": [target]}}


# Staff of the school send to its groups; everyone else is refused (403), and so must be
# the other municipality's staff, for whom these groups do not exist.
SEND_TO_CLASSES = every(202, "teacher", "teacher_other_group", "leader")
GUARDIANS = ("guardian", "guardian_other", "non_custodial", "daycare_guardian", "guardian_low_acr")
NOT_GUARDIANS = tuple(caller for caller in PERSON_CALLERS if caller not in GUARDIANS)
# Who may ever see a thing's id in an answer (lists included).
_THREAD_PEOPLE = frozenset(
    {"teacher", "key_for_teacher", "teacher_naming_leader", "guardian", "guardian_low_acr"}
)
VISIBLE_TO: dict[str, frozenset[str]] = {
    "thread": _THREAD_PEOPLE | {"pupil", "young_pupil"},
    "message": _THREAD_PEOPLE | {"pupil", "young_pupil"},
    "announcement": _THREAD_PEOPLE | {"pupil", "young_pupil"},
    "sensitive_thread": _THREAD_PEOPLE | {"pupil"},
    "consent": _THREAD_PEOPLE | {"pupil"},
    "notice": frozenset({"daycare_guardian", "pedagogue"}),
    "subscription": frozenset({"guardian", "guardian_low_acr"}),
    "webhook": frozenset({"key_report", "key_report_for_teacher"}),
}
THREAD = {"thread_id": "thread"}
SENSITIVE_THREAD = {"thread_id": "sensitive_thread"}
# The sensitive thread's participants signed in at 'substantial' (not the young pupil, not
# the guardian's weak login, not a system acting for the teacher: no login at all).
SENSITIVE_READERS = frozenset({"teacher", "teacher_naming_leader", "guardian", "pupil"})
TOO_WEAK = {"guardian_low_acr": 403}
ANNOUNCEMENT = {"thread_id": "announcement"}
CONSENT = {"consent_id": "consent"}
NO_BODY = _json({})

ENDPOINTS: list[Endpoint] = [
    # -- who am I ---------------------------------------------------------------------
    acting("GET", "/v1/me", people()),
    # -- roster (systems) -------------------------------------------------------------
    *(roster(kind) for kind in ROSTER_ITEMS),
    Endpoint(
        "PUT",
        "/v1/roster/{municipality}/people",
        {"key_other_municipality": 200, "staff_other_municipality": 403},
        others=404,
        keys=404,
        params={"municipality": "=" + OTHER},
        body=_json(
            {
                "items": [
                    {"source_id": "authz-x", "kind": "child", "given_name": "A", "family_name": "B"}
                ]
            }
        ),
        label="other tenant",
    ),
    # -- sending ----------------------------------------------------------------------
    acting(
        "POST",
        "/v1/messages",
        SEND_TO_CLASSES,
        others=403,
        body=_message,
    ),
    acting(
        "POST",
        "/v1/messages",
        # A group no one has must get the answer a real group one may not address gets.
        {},
        others=403,
        body=_made_up_message,
        label="made-up group",
    ),
    acting(
        "POST",
        "/v1/attachments",
        every(201, *PERSON_CALLERS),
        upload=True,
    ),
    acting(
        "POST",
        "/v1/messages/{message_id}/recall",
        # Recipients see the message, but "no such message of yours" hides nothing.
        every(200, "teacher") | every(404, *IN_THREAD),
        params={"message_id": "message_to_recall"},
        body=NO_BODY,
    ),
    acting(
        "GET",
        "/v1/attachments/{attachment_id}",
        every(200, "teacher", *IN_THREAD),
        params={"attachment_id": "attachment"},
    ),
    acting(
        "POST",
        "/v1/threads/{thread_id}/messages",
        every(202, "teacher", *IN_THREAD),
        params=THREAD,
        body=_json({"body": "Tak for beskeden."}),
    ),
    acting(
        "POST",
        "/v1/threads/{thread_id}/participants",
        every(200, "teacher") | every(403, *IN_THREAD),
        params=THREAD,
        body=lambda w, caller: {"people": [w.id("staff-00031")]},
    ),
    acting(
        "POST",
        "/v1/threads/{thread_id}/participants",
        # Someone of the other municipality is no one here.
        {"teacher": 422} | every(403, *IN_THREAD),
        params=THREAD,
        body=lambda w, caller: {"people": [sorted(w.other_municipality_ids)[0]]},
        label="other tenant's person",
    ),
    acting(
        "GET",
        "/v1/threads/{thread_id}/receipts",
        every(200, "teacher") | every(403, *IN_THREAD),
        params=THREAD,
    ),
    acting(
        "GET",
        "/v1/messages/{message_id}/report",
        every(200, "teacher") | every(403, *IN_THREAD),
        params={"message_id": "message"},
    ),
    acting(
        "POST",
        "/v1/announcements",
        SEND_TO_CLASSES,
        others=403,
        body=_announcement,
    ),
    acting(
        "GET",
        "/v1/announcements/{thread_id}/stats",
        every(200, "teacher") | every(403, *IN_THREAD),
        params=ANNOUNCEMENT,
    ),
    # A staff member's own out-of-office answer (none yet: 404); others are refused by kind.
    acting("GET", "/v1/me/auto-reply", every(404, *STAFF_PEOPLE), others=403),
    acting("PUT", "/v1/me/auto-reply", every(200, *STAFF_PEOPLE), others=403, body=_auto_reply),
    acting("DELETE", "/v1/me/auto-reply", every(204, *STAFF_PEOPLE), others=403),
    # -- the inbox --------------------------------------------------------------------
    Endpoint("GET", "/v1/inbox/threads", people()),
    Endpoint("GET", "/v1/inbox/unread", people()),
    Endpoint("GET", "/v1/inbox/announcements", people()),
    Endpoint(
        "GET", "/v1/inbox/threads/{thread_id}", every(200, "teacher", *IN_THREAD), params=THREAD
    ),
    *(
        Endpoint(
            "POST",
            "/v1/inbox/threads/{thread_id}/" + action,
            every(200, "teacher", *IN_THREAD),
            params=THREAD,
            body=NO_BODY if action == "read" else None,
        )
        for action in ("read", "archive", "unarchive", "mute", "unmute", "mark", "unmark")
    ),
    Endpoint(
        "POST",
        "/v1/inbox/announcements/{thread_id}/read",
        every(200, "teacher", *IN_THREAD),
        params=ANNOUNCEMENT,
    ),
    Endpoint("GET", "/v1/events", people()),
    # -- a sensitive thread: reading it needs the institution's assurance level -------
    Endpoint(
        "GET",
        "/v1/inbox/threads/{thread_id}",
        every(200, "teacher", "guardian", "pupil") | TOO_WEAK,
        params=SENSITIVE_THREAD,
        label="sensitive",
    ),
    acting(
        "POST",
        "/v1/threads/{thread_id}/messages",
        # A system acting for the teacher has no login to show: it cannot read, so
        # it cannot answer either.
        every(202, "teacher", "guardian", "pupil") | TOO_WEAK | {"key_for_teacher": 403},
        params=SENSITIVE_THREAD,
        body=_json({"body": "Tak."}),
        label="sensitive",
    ),
    acting(
        "GET",
        "/v1/attachments/{attachment_id}",
        every(200, "teacher", "guardian", "pupil") | TOO_WEAK | {"key_for_teacher": 403},
        params={"attachment_id": "attachment_spare"},
        label="sensitive",
    ),
    acting(
        "GET",
        "/v1/messages/{message_id}/report",
        every(200, "teacher") | every(403, "guardian", "pupil"),
        params={"message_id": "sensitive_message"},
        label="sensitive",
    ),
    acting(
        "GET",
        "/v1/threads/{thread_id}/receipts",
        every(200, "teacher") | every(403, "guardian", "pupil"),
        params=SENSITIVE_THREAD,
        label="sensitive",
    ),
    # -- consents ---------------------------------------------------------------------
    acting(
        "POST",
        "/v1/consents",
        SEND_TO_CLASSES,
        others=403,
        body=_consent,
    ),
    acting(
        "GET",
        "/v1/consents/{consent_id}",
        # A pupil under the age is asked about, not asked: the request is not theirs to see.
        every(200, "teacher", "guardian", "pupil"),
        params=CONSENT,
    ),
    acting(
        "POST",
        "/v1/consents/{consent_id}/answers",
        # Those who know the child hear why they may not answer; staff in the thread are
        # told the request does not ask them; everyone else learns nothing.
        every(200, "guardian", "pupil")
        | every(403, "young_pupil", "non_custodial")
        | {"teacher": 422},
        params=CONSENT,
        body=_answers,
    ),
    acting(
        "POST",
        "/v1/consents/{consent_id}/withdraw",
        every(200, "guardian", "pupil")
        | every(403, "young_pupil", "non_custodial")
        | {"teacher": 422},
        params=CONSENT,
        body=_withdraw,
    ),
    *(
        acting(
            "GET",
            "/v1/consents/{consent_id}/" + view,
            every(200, "teacher") | every(403, "guardian", "pupil"),
            params=CONSENT,
        )
        for view in ("results", "results.csv", "record")
    ),
    acting(
        "PUT",
        "/v1/consents/{consent_id}",
        every(200, "teacher") | every(403, "guardian", "pupil"),
        params=CONSENT,
        body=_json({"title": "Fotos på hjemmesiden"}),
    ),
    # -- daycare notices --------------------------------------------------------------
    # Notices are the guardians' (404 for another family's child), acknowledged by the
    # room's staff; any other kind of person is refused by kind.
    Endpoint(
        "POST",
        "/v1/notices",
        {"daycare_guardian": 201} | every(403, *NOT_GUARDIANS),
        body=_notice,
    ),
    Endpoint("GET", "/v1/notices", every(200, *GUARDIANS), others=403),
    Endpoint(
        "POST",
        "/v1/notices/{notice_id}/acknowledge",
        {"pedagogue": 200} | every(403, *GUARDIANS, "pupil", "young_pupil"),
        params={"notice_id": "notice"},
    ),
    Endpoint(
        "GET",
        "/v1/institutions/{institution_id}/notices",
        {"pedagogue": 200},
        params={"institution_id": "daycare-01"},
    ),
    Endpoint(
        "DELETE",
        "/v1/notices/{notice_id}",
        {"daycare_guardian": 200},
        params={"notice_id": "notice_to_withdraw"},
    ),
    # -- preferences and push ---------------------------------------------------------
    Endpoint("GET", "/v1/me/preferences", people()),
    Endpoint(
        "PUT",
        "/v1/me/preferences",
        people(),
        body=_json({"digest_time": "16:00"}),
    ),
    *(
        Endpoint(
            method,
            "/v1/institutions/{institution_id}/notification-defaults",
            {"key_roster": 200, "key_scoped": 404, "key_other_municipality": 404},
            others=403,
            params={"institution_id": "school-02"},
            body=_json({"categories": {"message": {"email": "digest"}}})
            if method == "PUT"
            else None,
        )
        for method in ("GET", "PUT")
    ),
    Endpoint("GET", "/v1/push/subscriptions", people()),
    Endpoint(
        "POST",
        "/v1/push/subscriptions",
        people(201),
        body=lambda w, caller: push_subscription(),
    ),
    Endpoint(
        "DELETE",
        "/v1/push/subscriptions/{subscription_id}",
        # The guardian's weak login is the same person, after the removal.
        {"guardian": 204, "guardian_low_acr": 404},
        params={"subscription_id": "subscription_to_remove"},
    ),
    Endpoint("GET", "/v1/push/vapid-public-key", {}, others=200, public=True),
    # -- audiences --------------------------------------------------------------------
    Endpoint(
        "POST",
        "/v1/audiences/preview",
        every(200, "teacher", "teacher_other_group", "leader", "key_send")
        # The other tenant's group reaches no one; a scoped key is told it is outside.
        | {"key_other_municipality": 200, "key_scoped": 403},
        others=403,
        body=_preview,
    ),
    Endpoint(
        "POST",
        "/v1/audiences/preview",
        # A group no one has is outside every staff member's institutions (403, as for
        # a real group elsewhere: the preview is no oracle); a municipality-wide key's
        # audience just reaches no one.
        every(200, "key_send", "key_other_municipality") | {"key_scoped": 403},
        others=403,
        body=lambda w, caller: _made_up_message(w, caller)["audience"],
        label="made-up group",
    ),
    # -- webhooks (systems with report) ---------------------------------------------
    Endpoint(
        "GET",
        "/v1/webhooks",
        every(200, "key_report", "key_scoped", "key_other_municipality"),
        others=403,
    ),
    Endpoint(
        "POST",
        "/v1/webhooks",
        {"key_report": 201, "key_other_municipality": 201, "key_scoped": 422},
        others=403,
        body=_json({"url": "https://1.1.1.1/hooks/matrix", "events": ["message.read"]}),
    ),
    *(
        Endpoint(
            method,
            "/v1/webhooks/{endpoint_id}" + suffix,
            every(status, "key_report")
            | every(404, "key_scoped", "key_other_municipality")
            # The same key as key_report: after it deleted the endpoint, there is none.
            | ({"key_report_for_teacher": 404} if method == "DELETE" else {}),
            others=403,
            params={"endpoint_id": "webhook_to_delete" if method == "DELETE" else "webhook"},
            body=NO_BODY if method == "POST" else None,
        )
        for method, suffix, status in (
            ("GET", "", 200),
            ("POST", "/enable", 200),
            ("POST", "/rotate-secret", 200),
            ("DELETE", "", 204),
        )
    ),
    # -- the municipality's oversight (admin keys) ------------------------------------
    Endpoint(
        "GET",
        "/v1/admin/people/{person_id}/export",
        {"key_admin": 200},
        others=403,
        params={"person_id": CHILD},
        export=True,
    ),
    Endpoint("GET", "/v1/audit", {"key_admin": 200}, others=403),
    Endpoint("GET", "/v1/retention", {"key_admin": 200}, others=403),
    Endpoint(
        "PUT", "/v1/retention", {"key_admin": 200}, others=403, body=lambda w, caller: {"days": {}}
    ),
    Endpoint(
        "PUT",
        "/v1/institutions/{institution_id}/legal-hold",
        {"key_admin": 200},
        others=403,
        params={"institution_id": "school-02"},
        body=lambda w, caller: {"on": False},
    ),
    Endpoint(
        "POST",
        "/v1/admin/people/{person_id}/erase",
        {"key_admin": 200},
        others=403,
        params={"person_id": CO_TEACHER},  # the deactivated teacher; nothing else uses them
        body=lambda w, caller: {"confirm": w.id(CO_TEACHER)},
    ),
    # -- login-free and operations --------------------------------------------------
    Endpoint("GET", "/healthz", {}, others=200, public=True),
    Endpoint("GET", "/readyz", {}, others=200, public=True),
    Endpoint("GET", "/metrics", {"metrics_token": 200}, others=401, keys=401, public=True),
    *(
        Endpoint(
            method,
            path,
            {},
            others=404,
            public=True,
            params={"token": "=" + "A" * 40},
            body=NO_BODY if method == "POST" else None,
        )
        for path in ("/v1/unsubscribe/{token}", "/v1/consents/answer/{token}")
        for method in ("GET", "POST")
    ),
]


@dataclass(frozen=True)
class Case:
    endpoint: Endpoint
    method: str
    caller: str
    expected_status: int


CASES = [
    Case(endpoint, endpoint.method, caller, endpoint.expected(caller))
    for endpoint in ENDPOINTS
    for caller in CALLERS
]


def _param(case: Case) -> Any:
    label = f" {case.endpoint.label}" if case.endpoint.label else ""
    name = f"{case.method} {case.endpoint.path}{label} {case.caller}"
    reason = case.endpoint.xfail.get(case.caller)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=name, marks=marks)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def w(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    postgres_admin_url: str,
    postgres_template: str,
    sqlite_template: Path,
) -> AsyncIterator[MatrixWorld]:
    engine_name: str = request.param
    async with matrix_world(
        engine_name,
        folder=tmp_path_factory.mktemp(f"authz-{engine_name}"),
        redis_url=redis_url,
        postgres_admin_url=postgres_admin_url,
        postgres_template=postgres_template,
        sqlite_template=sqlite_template,
    ) as built:
        yield built


def leaks(w: MatrixWorld, case: Case, text: str) -> list[str]:
    """What a 200's body shows that this caller must not see."""
    found: list[str] = []
    caller = case.caller
    if caller not in STAFF:
        hidden = w.protected_names - w.may_see_names.get(caller, set())
        found += [f"protected name {name!r}" for name in hidden if name in text]
    own = w.own_emails.get(caller, set())
    if not case.endpoint.export:
        found += [f"e-mail {e}" for e in EMAIL.findall(text) if e.lower() not in own]
    if caller in ("staff_other_municipality", "key_other_municipality"):
        found += [f"0999's person {pid}" for pid in w.demo_ids if pid in text]
    else:
        found += [f"101's person {pid}" for pid in w.other_municipality_ids if pid in text]
    shows_secret = case.method == "POST" and case.endpoint.path in (
        "/v1/webhooks",
        "/v1/webhooks/{endpoint_id}/rotate-secret",
    )
    if caller != "key_admin":  # the municipality's oversight sees ids by design
        found += [
            f"the id of {thing}"
            for thing, seers in VISIBLE_TO.items()
            if caller not in seers and w.id(thing) in text
        ]
    if SENSITIVE in text and caller not in SENSITIVE_READERS and not case.endpoint.export:
        found.append("a sensitive thread's content")
    if "whsec_" in text and not shows_secret:
        found.append("a webhook secret")
    return found


async def call(w: MatrixWorld, case: Case) -> tuple[int, str]:
    endpoint = case.endpoint
    headers = dict(w.headers[case.caller])
    url = endpoint.url(w)
    if endpoint.path == "/v1/events":
        async with w.http.stream("GET", url, headers=headers) as stream:
            # A 200 is a stream that never ends: its status is the answer.
            return stream.status_code, "" if stream.status_code == 200 else (
                await stream.aread()
            ).decode()
    kwargs: dict[str, Any] = {}
    if endpoint.upload:
        kwargs["files"] = {"data": ("skema.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)}
    elif endpoint.body is not None:
        kwargs["json"] = endpoint.body(w, case.caller)
    response = await w.http.request(endpoint.method, url, headers=headers, **kwargs)
    return response.status_code, response.text


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
async def test_cell(w: MatrixWorld, case: Case) -> None:
    status, text = await call(w, case)
    assert status == case.expected_status, f"{status}: {text[:300]}"
    if 200 <= status < 300 and text:
        assert not leaks(w, case, text), leaks(w, case, text)[:5]


async def test_every_operation_is_in_the_matrix(w: MatrixWorld) -> None:
    """A new endpoint fails here until it has its line in ENDPOINTS."""
    document = (await w.http.get("/schema/openapi.json")).json()
    served = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "delete", "patch"}
    }
    covered = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
    assert served - covered == set(), f"add these to ENDPOINTS: {sorted(served - covered)}"
    assert covered - served == set(), f"no longer served: {sorted(covered - served)}"


def test_the_matrix_reaches_every_caller_on_every_endpoint() -> None:
    # A guard against a table that quietly stops asking some caller.
    assert len(CASES) == len(ENDPOINTS) * len(CALLERS)
    assert len(set(CALLERS)) == len(CALLERS)
    assert all(caller in CALLERS for endpoint in ENDPOINTS for caller in endpoint.ok)
    assert all(caller in CALLERS for endpoint in ENDPOINTS for caller in endpoint.xfail)


async def test_the_leak_check_sees_what_it_looks_for(w: MatrixWorld) -> None:
    # The thread holds a protected child and guardian: staff see their real names, so a
    # non-staff 200 without them is the alias at work, not an empty answer.
    path = f"/v1/inbox/threads/{w.id('thread')}"
    staff = await w.http.get(path, headers=w.headers["teacher"])
    guardian = await w.http.get(path, headers=w.headers["guardian"])
    assert staff.status_code == guardian.status_code == 200
    assert w.protected_names & {name for name in w.protected_names if name in staff.text}
    case = Case(ENDPOINTS[0], "GET", "guardian", 200)
    assert leaks(w, case, staff.text), "a staff view shown to a guardian must count as a leak"
    assert not leaks(w, case, guardian.text)
    listed = await w.http.get("/v1/inbox/threads", headers=w.headers["guardian"])
    stranger = Case(ENDPOINTS[0], "GET", "guardian_other", 200)
    assert "the id of thread" in leaks(w, stranger, listed.text)
    assert leaks(w, case, '{"secret": "whsec_abc", "to": "someone@example.org"}') == [
        "e-mail someone@example.org",
        "a webhook secret",
    ]
