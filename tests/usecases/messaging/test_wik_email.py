"""A Dutch consumer's first reminder by email is the WIK's 14-day letter (art. 6:96 lid 6 BW), in any language.

The default flow's free first reminder of a Dutch consumer goes by email when there is an address; the
collection costs the flow charges later are owed only if that first notice gave 14 days from the day after
it was received and said the exact costs owed after them. Real planner, dispatch through the file transport,
the ``.eml`` read back in both parts, for a debtor writing each of the four languages; a Belgian consumer's
email keeps its Book XIX block and gets no WIK text.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency

from dunning.domain.legal.netherlands import wik_amount
from dunning.store import Store
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.messaging.dispatch import dispatch_messages
from tests.usecases.messaging.helpers import (
    ENV,
    FIRST_NIGHT,
    HEADER,
    IMPORTED,
    WEEKDAY_MORNING,
    actions_of,
    case_of,
    make_workspace,
    plan,
)

#: the WIK period, from the day after the email was sent (its receipt), in each language
PERIOD = {"nl": "binnen veertien dagen vanaf de dag na de verzending van deze e-mail",
          "fr": "dans les quatorze jours à compter du lendemain de l'envoi du présent e-mail",
          "de": "innerhalb von vierzehn Tagen ab dem Tag nach dem Versand dieser E-Mail",
          "en": "within fourteen days from the day after this email was sent"}
COSTS = {"nl": "buitengerechtelijke incassokosten verschuldigd. Deze bedragen {}",
         "fr": "frais de recouvrement extrajudiciaires de {}", "de": "außergerichtliche Inkassokosten von {}",
         "en": "extrajudicial collection costs of {}"}
LOCALES = {"nl": "nl_NL", "fr": "fr_FR", "de": "de_DE", "en": "en_NL"}
AMOUNT = "180.00"


def test_a_dutch_consumers_first_email_is_the_14_day_letter_in_every_language(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    lines = [HEADER]
    for number, lang in enumerate(PERIOD, start=1):
        lines.append(f"N{number},Debtor {lang},person,{lang},Kerkstraat {number},1012 AB,Amsterdam,NL,"
                     f"{lang}@example.nl,,,residential,INV-2026-{number:05d},2026-09-01,2026-10-01,{AMOUNT},"
                     f"{AMOUNT},EUR,Energy")
    lines.append(f"B1,Debtor be,person,nl,Kerkstraat 9,2000,Antwerpen,BE,be@example.be,,,residential,"
                 f"INV-2026-00009,2026-09-01,2026-10-01,{AMOUNT},{AMOUNT},EUR,Energy")
    (workspace.root / "ledger" / "test.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_ledger(store, workspace.root / "ledger" / "test.csv", as_of=IMPORTED, reference_kind="be-ogm")
    plan(store, workspace, FIRST_NIGHT)

    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    assert result.channel("email").sent == 5

    sent: dict[str, EmailMessage] = {}
    for path in (workspace.root / "output" / "mail").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        sent[message["To"].addresses[0].addr_spec] = message
    for number, lang in enumerate(PERIOD, start=1):
        [action] = [a for a in actions_of(store, case_of(store, f"N{number}")) if a.channel == "email"]
        # 14 days from the day after sending, the last included: sent on 8 October, by 22 October
        assert action.detail["deadline"] == (FIRST_NIGHT + timedelta(days=14)).isoformat()
        deadline = format_date(FIRST_NIGHT + timedelta(days=14), format="long", locale=LOCALES[lang])
        costs = _flat(format_currency(wik_amount(Decimal(AMOUNT)), "EUR", locale=LOCALES[lang]))
        for part in _parts(sent[f"{lang}@example.nl"]):
            flat = _flat(part)
            assert PERIOD[lang] in flat and _flat(deadline) in flat, (lang, flat)
            assert COSTS[lang].format(costs) in flat, (lang, flat)
    be_text, _be_html = _parts(sent["be@example.be"])
    assert "Deze eerste herinnering is kosteloos." in be_text and "veertien dagen" not in be_text


def _parts(message: EmailMessage) -> tuple[str, str]:
    text, body = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and body is not None
    return str(text.get_content()), html.unescape(re.sub(r"<[^>]+>", "", str(body.get_content())))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))
