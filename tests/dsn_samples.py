"""Delivery status notifications as Postfix, Exchange Online and Gmail write them.

Modelled on real reports (boundaries, field spellings, folded Diagnostic-Code lines, the
original returned as headers or as a whole message); addresses and ids are made up.
"""

from __future__ import annotations


def postfix(
    message_id: str,
    recipient: str = "anna@example.net",
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <anna@example.net>: Recipient address rejected:\n"
    "    User unknown in virtual mailbox table",
    sender: str = "no-reply@skole.example.dk",
) -> bytes:
    return f"""Return-Path: <>
Received: by mx.skole.example.dk (Postfix) id 4Fq2xL0Jz2z9sRt; Tue,  3 Dec 2026 10:00:02 +0100 (CET)
Date: Tue,  3 Dec 2026 10:00:02 +0100 (CET)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {sender}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Fq2xL0Jz2z9sRt.1733216402/mail.example.net"
Message-Id: <20261203090002.4Fq2xL0Jz2z9sRt@mail.example.net>

This is a MIME-encapsulated message.

--4Fq2xL0Jz2z9sRt.1733216402/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: host mail.example.net[192.0.2.10] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown

--4Fq2xL0Jz2z9sRt.1733216402/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 4Fq2xL0Jz2z9sRt
X-Postfix-Sender: rfc822; {sender}
Arrival-Date: Tue,  3 Dec 2026 10:00:01 +0100 (CET)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.net
Diagnostic-Code: {diagnostic}

--4Fq2xL0Jz2z9sRt.1733216402/mail.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{sender}>
From: Budstikke <{sender}>
To: {recipient}
Subject: Ny besked: Tur i skoven
Date: Tue, 03 Dec 2026 09:00:00 +0000
Message-ID: {message_id}
Auto-Submitted: auto-generated

--4Fq2xL0Jz2z9sRt.1733216402/mail.example.net--
""".replace("\n", "\r\n").encode()


def exchange(
    message_id: str,
    recipient: str = "anna@contoso.com",
    *,
    status: str = "5.1.10",
    sender: str = "no-reply@skole.example.dk",
) -> bytes:
    return f"""From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
To: <{sender}>
Date: Tue, 3 Dec 2026 09:00:03 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_ab12cd34ef56_"
MIME-Version: 1.0
Subject: Undeliverable: Ny besked: Tur i skoven
Message-ID: <ab12cd34-ef56-4a7b-9c0d-112233445566@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied

--_000_ab12cd34ef56_
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="_002_ab12cd34ef56_"

--_002_ab12cd34ef56_
Content-Type: text/plain; charset="us-ascii"

Your message to {recipient} couldn't be delivered.
anna wasn't found at contoso.com.

--_002_ab12cd34ef56_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {recipient} couldn't be delivered.</p></body></html>

--_002_ab12cd34ef56_--

--_000_ab12cd34ef56_
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mx.skole.example.dk
Arrival-Date: Tue, 3 Dec 2026 09:00:01 +0000

Final-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by
 SMTP address lookup
X-Display-Name: Anna

--_000_ab12cd34ef56_
Content-Type: message/rfc822

From: Budstikke <{sender}>
To: <{recipient}>
Subject: Ny besked: Tur i skoven
Date: Tue, 3 Dec 2026 09:00:00 +0000
Message-ID: {message_id}
Content-Type: text/plain; charset="utf-8"
MIME-Version: 1.0

Der er en ny besked til dig i portalen.

--_000_ab12cd34ef56_--
""".replace("\n", "\r\n").encode()


def gmail(
    message_id: str,
    recipient: str = "anna.jensen@gmail.com",
    *,
    sender: str = "no-reply@skole.example.dk",
) -> bytes:
    """Gmail: the original's id in the per-message block too, headers only at the end."""
    return f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {sender}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Date: Tue, 03 Dec 2026 01:00:04 -0800 (PST)
Message-ID: <6751a9d4.050a0220.1c2d3e.0a1b.GMR@mx.google.com>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="00000000000012ab34cd56ef7890";
 report-type=delivery-status

--00000000000012ab34cd56ef7890
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {recipient} because the address couldn't be found,
or is unable to receive mail.

--00000000000012ab34cd56ef7890
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Tue, 03 Dec 2026 01:00:03 -0800 (PST)
X-Original-Message-ID: {message_id}

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:400c:c0b::1b, the server for the
 domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
 Please try double-checking the recipient's email address for typos or unnecessary spaces.
 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp
Last-Attempt-Date: Tue, 03 Dec 2026 01:00:04 -0800 (PST)

--00000000000012ab34cd56ef7890
Content-Type: text/rfc822-headers

From: Budstikke <{sender}>
To: {recipient}
Subject: Ny besked: Tur i skoven
Message-ID: {message_id}

--00000000000012ab34cd56ef7890--
""".replace("\n", "\r\n").encode()
