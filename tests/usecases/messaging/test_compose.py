"""The small pure parts: locales, template choice, secrets, pay-link checks, redaction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dunning.channels.render import TemplateMissing, default_templates_dir
from dunning.domain import paylink
from dunning.errors import ConfigError
from dunning.usecases.messaging.compose import locale_for, template_kind
from dunning.usecases.messaging.feedback import check_pay_link
from dunning.usecases.messaging.transports import redact
from dunning.usecases.outgoing.secrets import load_secrets
from tests.usecases.messaging.helpers import SECRET, make_workspace

TEMPLATES = default_templates_dir()


def test_locale_is_language_and_country_when_babel_knows_it() -> None:
    assert locale_for("fr", "BE") == "fr_BE"
    assert locale_for("de", "be") == "de_BE"
    assert locale_for("nl", "JP") == "nl_BE"  # Babel has no nl_JP: the language's standard locale
    assert locale_for("en", None) == "en_GB"


def test_the_steps_template_wins_else_the_actions_standard_one() -> None:
    assert template_kind("email", "send_email", "thank_you", "nl", TEMPLATES) == "thank_you"
    assert template_kind("email", "send_email", "first_reminder", "nl", TEMPLATES) == "reminder"
    assert template_kind("sms", "send_sms", "reminder_sms", "fr", TEMPLATES) == "reminder_sms"
    assert template_kind("sms", "send_final_notice", "formal_notice", "de", TEMPLATES) == "final_notice"
    with pytest.raises(TemplateMissing, match=r"no email template for action request_contact_data .*contact_data"):
        template_kind("email", "request_contact_data", "contact_data", "en", TEMPLATES)


def test_secrets_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    with pytest.raises(ConfigError, match=r"\$DUNNING_PAYLINK_SECRET"):
        load_secrets(workspace, {})
    with pytest.raises(ConfigError, match="shorter than 16"):
        load_secrets(workspace, {"DUNNING_PAYLINK_SECRET": "short"})
    secrets = load_secrets(workspace, {"DUNNING_PAYLINK_SECRET": SECRET})
    assert secrets.paylink == SECRET.encode() and secrets.verp not in (b"", secrets.paylink)
    assert load_secrets(workspace, {"DUNNING_PAYLINK_SECRET": SECRET}).verp == secrets.verp  # stable
    explicit = load_secrets(workspace, {"DUNNING_PAYLINK_SECRET": SECRET, "DUNNING_VERP_SECRET": "v" * 20})
    assert explicit.verp == b"v" * 20

    (workspace.root / "paylink.key").write_text(SECRET + "\n", encoding="utf-8")
    config = (workspace.root / "dunning.yaml").read_text(encoding="utf-8")
    (workspace.root / "dunning.yaml").write_text(
        config.replace("paylink:\n", "paylink:\n  secret_file: paylink.key\n"), encoding="utf-8")
    from dunning.workspace import open_workspace

    assert load_secrets(open_workspace(workspace.root, environ={}), {}).paylink == SECRET.encode()


def test_pay_link_check_names_the_case_of_an_expired_link_and_why_a_bad_one_fails() -> None:
    token = paylink.make_token("42", date(2026, 12, 31), SECRET.encode())
    link = paylink.pay_link("https://pay.example.com/p/", token) + "?utm_source=sms"
    assert check_pay_link(link, SECRET.encode(), date(2026, 12, 31)) == paylink_check("valid", token)
    expired = check_pay_link(token, SECRET.encode(), date(2027, 1, 1))
    assert (expired.status, expired.case_id, expired.expires) == ("expired", "42", date(2026, 12, 31))
    other = check_pay_link(token, b"another-secret-0123456789", date(2026, 12, 1))
    assert (other.status, other.case_id) == ("invalid", None) and "signature" in (other.reason or "")


def paylink_check(status: str, token: str):  # type: ignore[no-untyped-def]
    from dunning.usecases.messaging.feedback import PayLinkCheck

    return PayLinkCheck(token, status, "42", date(2026, 12, 31))  # type: ignore[arg-type]


def test_redaction_keeps_addresses_and_numbers_out_of_problem_lines() -> None:
    assert redact("recipient refused: 550 5.1.1 <erika@example.org>: no such user") == \
        "recipient refused: 550 5.1.1 <recipient>: no such user"
    assert redact("number +32 470 12 34 56 is not a mobile") == "number <recipient> is not a mobile"
