"""The new text of an emailed reply: quoted mail and signatures cut, the writer's words kept."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from gateway.delivery.inbound import is_automatic
from gateway.delivery.replytext import body_text, html_to_text, new_text, unflow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Gmail, English and Danish; Apple Mail; the header wrapped over two lines.
        (
            "Thanks, we will come.\n\nOn Tue, 3 Dec 2026 at 10:00, Budstikke "
            "<no-reply@x.dk> wrote:\n> Husk madpakke\n",
            "Thanks, we will come.",
        ),
        (
            "Vi kommer gerne.\n\nDen tir. 3. dec. 2026 kl. 10.00 skrev Budstikke "
            "<no-reply@x.dk>:\n> Husk madpakke\n",
            "Vi kommer gerne.",
        ),
        (
            "Vi kommer.\n\nDen 3. dec. 2026 kl. 10.00 skrev Lærer Hansen <r-abc@x.dk>:\n\n> Husk\n",
            "Vi kommer.",
        ),
        (
            "Fint.\n\nOn Tue, 3 Dec 2026 at 10:00, Budstikke Skole Notifikationer <\n"
            "no-reply@x.dk> wrote:\n\n> Husk madpakke\n",
            "Fint.",
        ),
        # Outlook's header block, Danish, and the old separator.
        (
            "Fint med os.\n\nFra: Budstikke <no-reply@x.dk>\nSendt: 3. december 2026 10:00\n"
            "Til: Anna <anna@x.dk>\nEmne: Tur i skoven\n\nHusk madpakke\n",
            "Fint med os.",
        ),
        ("Ok\n\n-----Original Message-----\nFrom: x\n\nold", "Ok"),
        # Signatures: the RFC 3676 separator and phone footers.
        ("Vi kommer.\n\n-- \nAnna Jensen\nTlf 12345678\n", "Vi kommer."),
        ("Ja tak\n\nSendt fra min iPhone\n", "Ja tak"),
        ("Yes\n\nSent from my iPhone\n", "Yes"),
        # Bottom-posting: the answer below the quote is kept.
        ("On Tue, 3 Dec 2026, X <a@b.dk> wrote:\n> Husk madpakke\n\nDet gør vi!\n", "Det gør vi!"),
    ],
)
def test_quoted_mail_and_signatures_are_cut(text: str, expected: str) -> None:
    assert new_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # mailparser_reply's own signature rules would cut these from "Tak" / "- " on.
        "Hej\n\nTak for beskeden, vi kommer begge to.\nHilsen Anna",
        "Vi tager med:\n- madpakke\n- regntøj",
        "Vi kommer kl 9.\n\nMed venlig hilsen\nAnna",
    ],
)
def test_the_writers_own_words_are_kept(text: str) -> None:
    assert new_text(text) == text


def test_html_quotes_of_gmail_outlook_and_apple_are_dropped() -> None:
    gmail = (
        '<div dir="ltr">Vi kommer <b>begge</b>.<br>Mvh Anna</div><br>'
        '<div class="gmail_quote"><div class="gmail_attr">On Tue wrote:</div>'
        '<blockquote class="gmail_quote">Husk</blockquote></div>'
    )
    assert html_to_text(gmail) == "Vi kommer begge.\nMvh Anna"
    outlook = (
        "<html><head><style>p{margin:0}</style></head><body><p>Fint</p>"
        '<ul><li>a</li><li>b</li></ul><div id="appendonsend"></div><hr>'
        '<div id="divRplyFwdMsg">Fra: Budstikke</div><div>Husk madpakke</div></body></html>'
    )
    assert html_to_text(outlook) == "Fint\n\n- a\n- b"
    apple = '<div>Ja &amp; tak</div><div><br><blockquote type="cite">Husk</blockquote></div>'
    assert html_to_text(apple) == "Ja & tak"
    # Sloppy HTML cannot hide the rest of the text behind an unclosed quote.
    assert html_to_text("<p>Hej<blockquote>q</p><p>igen</p>") == "Hej\n\nigen"


def test_format_flowed_lines_are_joined() -> None:
    assert unflow("Vi kommer \nbegge to.\n-- \nAnna", delsp=False) == (
        "Vi kommer begge to.\n-- \nAnna"
    )
    assert unflow("Langt ord-\n delt", delsp=True) == "Langt ord-\ndelt"


def _mail(**headers: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hej")
    return message


def test_plain_text_is_preferred_and_html_is_the_fallback() -> None:
    both = _mail(From="a@b.dk")
    both.set_content("Plain svar\n\n> citat\n")
    both.add_alternative("<p>HTML svar</p>", subtype="html")
    assert body_text(both) == "Plain svar"
    html = _mail(From="a@b.dk")
    html.set_content("<p>Kun <i>HTML</i></p>", subtype="html")
    assert body_text(html) == "Kun HTML"


def test_automatic_answers_are_recognised() -> None:
    assert is_automatic(_mail(Auto_Submitted="auto-replied"), "a@b.dk")
    assert is_automatic(_mail(Precedence="bulk"), "a@b.dk")
    assert is_automatic(_mail(X_Autoreply="yes"), "a@b.dk")
    assert is_automatic(_mail(Subject="Automatisk svar: Tur i skoven"), "a@b.dk")
    assert is_automatic(_mail(), "")  # a null envelope sender
    assert not is_automatic(_mail(Auto_Submitted="no", Subject="Re: Tur"), "a@b.dk")
