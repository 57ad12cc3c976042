"""Flow files: parsing, errors that name file/step/key, assignment, the action catalogue, compliance."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from dunning.domain.legal import select_pack
from dunning.domain.legal.compliance import check_flow_set, packs_for_flow
from dunning.domain.planning.actions import CATALOGUE, validate_settings
from dunning.domain.planning.assignment import assign_flow, load_assignment
from dunning.domain.planning.case_state import Debtor
from dunning.domain.planning.flow_set import load_flow_set
from dunning.domain.planning.flows import check_flow, load_flow
from dunning.errors import FlowError

from .helpers import flow, template_flow_set

BE_CONSUMER = select_pack("BE", "consumer")
NL_CONSUMER = select_pack("NL", "consumer")


def test_template_flows_load_and_are_compliant_for_every_pack_they_serve() -> None:
    flows = template_flow_set()
    assert {f.ref for f in flows.flows.values()} == {"default@1", "b2b@1"}
    assert [p.code for p in packs_for_flow(flows, "b2b")] == [
        "BE-business",
        "NL-business",
        "DE-business",
        "EU-business",
        "default-business",
    ]
    assert "BE-consumer" in [p.code for p in packs_for_flow(flows, "default")]
    assert [p for p in check_flow_set(flows) if p.severity == "error"] == []
    default = flows.latest("default")
    assert default is not None and default.step("first_reminder") is not None
    assert default.on_paid is not None and "pay_page_visit" in default.on_events


def test_errors_name_the_file_the_step_and_the_key() -> None:
    data = {
        "name": "bad",
        "version": 1,
        "steps": [
            {"key": "a", "day": 3, "action": "send_email", "settings": {"template": 7}},
            {"key": "b", "day": 10, "action": "add_fee", "settings": {"mode": "fixed", "amount": 1.5}},
            {"key": "c", "after": 2, "action": "send_pigeon"},
            {"key": "a", "day": 1, "after": 2, "action": "wait"},
            {"key": "e", "day": 20, "action": "send_sms", "colour": "red", "when": {"has_email": "yes"}},
        ],
    }
    with pytest.raises(FlowError) as caught:
        load_flow(data, "flows/bad.yaml")
    lines = str(caught.value).splitlines()
    expected = [
        "flows/bad.yaml: steps[0] (a).settings.template: error: expected text, got 7 (int)",
        "flows/bad.yaml: steps[1] (b).settings.amount: error: expected an exact amount (quote decimals: "
        "'12.50'), got 1.5 (float)",
        "flows/bad.yaml: steps[2] (c).action: error: unknown action 'send_pigeon' (see `dunning actions`)",
        "flows/bad.yaml: steps[3].key: error: duplicate step key 'a' (also steps[0])",
        "flows/bad.yaml: steps[3] (a): error: give exactly one of 'day' (after the due date) or 'after' "
        "(after the previous step)",
        "flows/bad.yaml: steps[4] (e).when.has_email: error: expected true or false, got 'yes'",
    ]
    for line in expected:
        assert line in lines
    assert any("steps[4] (e).colour: error: unknown key" in line for line in lines)


def test_top_level_problems_are_reported() -> None:
    with pytest.raises(FlowError, match=r"flows/x.yaml: steps: error: a flow needs a non-empty list"):
        load_flow({"name": "x", "version": 1, "steps": []}, "flows/x.yaml")
    with pytest.raises(FlowError, match=r"version: error: must be at least 1, got 0"):
        load_flow({"name": "x", "version": 0, "steps": [{"day": 1, "action": "wait"}]}, "flows/x.yaml")
    with pytest.raises(FlowError, match=r"min_contact_gap_days: error: must be at least 1"):
        load_flow({"name": "x", "version": 1, "min_contact_gap_days": 0, "steps": [{"day": 1, "action": "wait"}]}, "f")
    with pytest.raises(FlowError, match=r"steps\[1\] \(2\).day: error: day 3 comes before an earlier step's day 9"):
        load_flow(
            {"name": "x", "version": 1, "steps": [{"day": 9, "action": "wait"}, {"day": 3, "action": "wait"}]}, "f"
        )
    with pytest.raises(FlowError, match=r"add_fee needs|mode fixed needs an amount"):
        load_flow(
            {"name": "x", "version": 1, "steps": [{"day": 9, "action": "add_fee", "settings": {"mode": "fixed"}}]}, "f"
        )


def test_fallbacks_chain_and_migrations_parse() -> None:
    f = flow(
        [
            {
                "key": "r1",
                "day": 3,
                "action": "send_email",
                "fallback": {"action": "send_sms", "fallback": {"action": "send_letter"}},
            },
            {"key": "r2", "after": 10, "action": "send_letter"},
        ],
        version=3,
        migrations=[{"from": 1, "rule": "restart"}, {"from": 2, "rule": "map", "map": {"old": "r2"}}],
    )
    assert [c.action for c in f.steps[0].call.chain()] == ["send_email", "send_sms", "send_letter"]
    assert f.migrations[1].rule == "restart" and dict(f.migrations[2].mapping) == {"old": "r2"}
    with pytest.raises(FlowError, match=r"migrations\[0\].map.old: error: maps to unknown step 'nope'"):
        flow(
            [{"key": "r1", "day": 1, "action": "wait"}],
            version=2,
            migrations=[{"from": 1, "rule": "map", "map": {"old": "nope"}}],
        )


def test_flow_set_reports_bad_files_and_keeps_good_ones() -> None:
    good = {"name": "a", "version": 1, "steps": [{"day": 1, "action": "wait"}]}
    docs = {
        "a.yaml": good,
        "a-copy.yaml": good,
        "broken.yaml": {"name": "b", "version": 1, "steps": [{"day": 1, "action": "nope"}]},
        "assign.yaml": {"assignment": {"default": "missing"}},
    }
    flows, problems = load_flow_set(docs)
    assert list(flows.flows) == [("a", 1)]
    text = "\n".join(str(p) for p in problems)
    assert "broken.yaml: steps[0] (1).action: error: unknown action 'nope'" in text
    assert "a.yaml: version: error: a@1 is also defined in a-copy.yaml" in text
    assert "names flow 'missing', which does not exist" in text


def test_assignment_picks_a_flow_per_debtor() -> None:
    rules = load_assignment(
        {
            "assignment": {
                "rules": [
                    {"when": {"debtor_type": "business"}, "flow": "b2b"},
                    {"when": {"segment": "vip", "min_open": "1000"}, "flow": "vip"},
                    {"when": {"country": ["nl"]}, "flow": "nl"},
                ],
                "default": "default",
            }
        },
        "flows/assignment.yaml",
    )
    assert assign_flow(rules, Debtor("1", "business", "BE"), D(10)) == "b2b"  # type: ignore[arg-type]
    assert assign_flow(rules, Debtor("2", "consumer", "BE", segment="vip"), D(5000)) == "vip"  # type: ignore[arg-type]
    assert assign_flow(rules, Debtor("3", "consumer", "BE", segment="vip"), D(50)) == "default"  # type: ignore[arg-type]
    assert assign_flow(rules, Debtor("4", "consumer", "NL"), D(50)) == "nl"  # type: ignore[arg-type]
    with pytest.raises(FlowError, match=r"assignment.rules\[0\].when.debtor_type: error: unknown debtor type"):
        load_assignment(
            {"assignment": {"rules": [{"when": {"debtor_type": "alien"}, "flow": "x"}], "default": "d"}}, "f"
        )


def test_catalogue_is_documented_and_validates_settings() -> None:
    assert len(CATALOGUE) >= 25
    for spec in CATALOGUE.values():
        assert spec.description and spec.name.replace("_", "").isalpha()
        defaults, errors = validate_settings(
            spec.name, {s.name: "x" for s in spec.settings if s.required and s.kind == "str"}
        )
        assert errors == [], spec.name
        assert set(defaults) == {s.name for s in spec.settings}
    for name in (
        "send_letter",
        "send_registered_letter",
        "send_email",
        "send_sms",
        "add_fee",
        "add_interest",
        "wait",
        "hold",
        "resume",
        "hand_over",
        "notify_creditor",
        "thank_you",
        "request_contact_data",
        "account_statement",
        "manual_task",
        "write_off",
        "stop",
    ):
        assert name in CATALOGUE
    assert validate_settings("hold", {"kind": "holiday", "reason": "x"})[1] == [
        (
            "kind",
            "expected one of dispute, promise_to_pay, insolvency, deceased, plan_active, manual, got 'holiday' (str)",
        )
    ]
    assert validate_settings("send_letter", {"fee": "-1"})[1] == [("fee", "a fee cannot be negative, got '-1' (str)")]


# ---- the compliance compiler ----------------------------------------------------------------


def _errors(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.message for p in problems if p.severity == "error"]


def test_refuses_a_fee_on_the_first_reminder_to_a_belgian_consumer() -> None:
    f = flow([{"key": "r1", "day": 5, "action": "send_letter", "settings": {"fee": "legal_max"}}])
    assert any("first reminder" in m and "must be free" in m for m in _errors(check_flow(f, BE_CONSUMER)))
    # a free first reminder followed by an add_fee on the same day is a fee before the period ends
    f = flow([{"day": 5, "action": "send_letter"}, {"after": 0, "action": "add_fee"}])
    assert any("falls inside the 14-day period" in m for m in _errors(check_flow(f, BE_CONSUMER)))
    # a fee in the fallback of the first reminder is also a fee on the first reminder
    f = flow([{"day": 5, "action": "send_email", "fallback": {"action": "send_letter", "settings": {"fee": "5"}}}])
    assert any("must be free" in m for m in _errors(check_flow(f, BE_CONSUMER)))


def test_refuses_a_collection_contact_before_the_belgian_first_reminder() -> None:
    f = flow([{"day": 2, "action": "send_sms"}, {"day": 5, "action": "send_letter"}])
    assert any("before the first reminder" in m for m in _errors(check_flow(f, BE_CONSUMER)))
    assert _errors(check_flow(f, NL_CONSUMER)) == []
    f = flow([{"day": 5, "action": "send_email", "fallback": {"action": "send_sms"}}])
    assert [p.severity for p in check_flow(f, BE_CONSUMER)] == ["warning"]


def test_refuses_a_fee_before_the_fourteen_day_period() -> None:
    # email on day 5: period starts day 6, costs from day 20
    f = flow([{"day": 5, "action": "send_email"}, {"day": 19, "action": "add_fee"}])
    assert any("earliest legal day is 20" in m for m in _errors(check_flow(f, BE_CONSUMER)))
    assert (
        _errors(check_flow(flow([{"day": 5, "action": "send_email"}, {"day": 20, "action": "add_fee"}]), BE_CONSUMER))
        == []
    )
    # letter on day 5: period starts at the earliest 3 days later: error before day 22, warning up to day 25
    letter = [{"day": 5, "action": "send_letter"}]
    assert any(
        "earliest legal day is 22" in m
        for m in _errors(check_flow(flow([*letter, {"day": 21, "action": "add_interest"}]), BE_CONSUMER))
    )
    problems = check_flow(flow([*letter, {"day": 23, "action": "add_fee"}]), BE_CONSUMER)
    assert _errors(problems) == [] and any(p.severity == "warning" for p in problems)
    assert check_flow(flow([*letter, {"day": 25, "action": "add_fee"}]), BE_CONSUMER) == []


def test_refuses_a_dutch_consumer_cost_before_the_fourteen_day_letter() -> None:
    f = flow([{"day": 3, "action": "send_sms"}, {"day": 10, "action": "add_fee"}, {"day": 12, "action": "send_letter"}])
    assert any("comes before any legal notice" in m for m in _errors(check_flow(f, NL_CONSUMER)))
    # the 14-day letter may carry the announcement but the cost only after 15 days from delivery
    f = flow([{"day": 3, "action": "send_letter"}, {"day": 10, "action": "add_fee"}])
    assert any("14-day period" in m for m in _errors(check_flow(f, NL_CONSUMER)))
    assert (
        _errors(check_flow(flow([{"day": 3, "action": "send_letter"}, {"day": 30, "action": "add_fee"}]), NL_CONSUMER))
        == []
    )
    # statutory interest needs no letter in the Netherlands
    assert check_flow(flow([{"day": 3, "action": "add_interest"}]), NL_CONSUMER) == []


def test_caps_and_packs_without_costs() -> None:
    big = flow(
        [
            {"day": 3, "action": "send_email"},
            {"day": 40, "action": "add_fee", "settings": {"mode": "fixed", "amount": "2500"}},
        ]
    )
    assert any("exceeds the most" in m for m in _errors(check_flow(big, BE_CONSUMER)))
    b2b = flow([{"day": 3, "action": "add_fee", "settings": {"mode": "fixed", "amount": "75"}}])
    problems = check_flow(b2b, select_pack("FR", "business"))
    assert _errors(problems) == [] and "without evidence" in problems[0].message
    assert any("no costs may be charged" in m for m in _errors(check_flow(b2b, select_pack("IT", "consumer"))))
    # a step limited to other countries is not checked against a pack it cannot apply to
    scoped = flow([{"day": 3, "action": "add_fee", "when": {"country": "FR"}}])
    assert check_flow(scoped, BE_CONSUMER) == []


def test_warns_about_unreachable_steps_and_conditional_first_reminders() -> None:
    f = flow(
        [
            {"day": 3, "action": "send_email", "when": {"has_email": True}},
            {"day": 30, "action": "stop"},
            {"day": 40, "action": "send_letter"},
        ]
    )
    messages = [(p.severity, p.message) for p in check_flow(f, BE_CONSUMER)]
    assert ("warning", "comes after steps[1] (2), which ends the flow: it never runs") in messages
    assert any(s == "warning" and "only runs under a condition" in m for s, m in messages)


def test_a_negative_day_is_reported_by_flows_check(tmp_path: Path) -> None:
    """`day: -5` would dun (and charge) before the debt is due: `dunning flows check` names file, step and key."""
    from click.testing import CliRunner

    from dunning.cli import EXIT_PROBLEMS, cli
    from dunning.workspace import init_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    flow_file = root / "flows" / "default.yaml"
    text = flow_file.read_text(encoding="utf-8")
    first_day = next(line for line in text.splitlines() if line.strip().startswith("day:"))
    flow_file.write_text(text.replace(first_day, first_day.split("day:")[0] + "day: -5", 1), encoding="utf-8")

    result = CliRunner().invoke(cli, ["--workspace", str(root), "flows", "check", "--format", "json"])

    assert result.exit_code == EXIT_PROBLEMS
    problems = [p for p in json.loads(result.stdout)["problems"] if p["severity"] == "error"]
    assert any(
        p["file"].endswith("default.yaml") and p["where"].endswith(".day") and "at least 0, got -5" in p["message"]
        for p in problems
    ), problems
