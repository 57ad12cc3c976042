"""`dunning flows check` warns when a notice asking payment (or an escalation) is scheduled before the
previous notice's deadline can have passed (issue 17): the planner would postpone it, so the day in
the file would not be the day that happens, and under Book XIX the next step only comes once the
previous period has run."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dunning.cli import cli
from dunning.domain.legal import select_pack
from dunning.domain.legal.compliance import check_flow_set
from dunning.domain.legal.spacing import check_spacing, deadline_days
from dunning.workspace import init_workspace
from tests.domain.planning.helpers import flow, template_flow_set


def _spacing(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.message for p in problems if "deadline (day" in p.message]


def test_the_shipped_flows_leave_every_deadline_room_to_pass() -> None:
    assert _spacing(check_flow_set(template_flow_set())) == []


def test_a_second_reminder_before_the_first_reminders_deadline_is_flagged() -> None:
    def b2b(*days: int) -> list[dict]:  # type: ignore[type-arg]
        return [
            {"key": "first_reminder", "day": days[0], "action": "send_email"},
            {"key": "second_reminder", "day": days[1], "action": "send_letter"},
            {"key": "final_notice", "day": days[2], "action": "send_final_notice", "settings": {"deadline_days": 8}},
            {"key": "hand_over", "day": days[3], "action": "hand_over", "settings": {"agency": "x"}},
        ]

    old_b2b = flow(b2b(3, 14, 32, 40), name="b2b")
    pack = select_pack("BE", "business")
    problems = check_spacing(old_b2b, pack)
    assert [(p.where, p.severity) for p in problems] == [
        ("steps[1] (second_reminder)", "warning"),
        ("steps[3] (hand_over)", "warning"),
    ]
    assert problems[0].message.startswith(
        "b2b: second_reminder on day 14 comes before first_reminder's deadline (day 17) has passed"
    )
    # the final notice on day 32 is clear of day 31; the hand-over of day 40 is not of day 40
    assert "hand_over on day 40 comes before final_notice's deadline (day 40)" in problems[1].message
    assert check_spacing(flow(b2b(3, 18, 33, 42), name="b2b"), pack) == []  # each the day after a deadline


def test_a_belgian_letter_counts_from_the_third_working_day_after_posting() -> None:
    """A consumer letter's deadline moves with the weekday it is posted: the range is a softer warning."""
    pack = select_pack("BE", "consumer")
    steps = [
        {"key": "r1", "day": 7, "action": "send_email"},
        {"key": "r2", "day": 30, "action": "send_letter"},
        {"key": "r3", "day": 48, "action": "send_final_notice"},
    ]
    the_flow = flow(steps)
    assert deadline_days(pack, the_flow.steps[0], 7, first=True) == (21, 21)  # the day after an email
    assert deadline_days(pack, the_flow.steps[1], 30, first=False) == (46, 49)  # 3 to 6 days to the period
    (problem,) = check_spacing(the_flow, pack)
    assert problem.where == "steps[2] (r3)"
    assert "r3 on day 48 may come before r2's deadline (day 46 to 49" in problem.message
    assert check_spacing(flow([*steps[:2], {**steps[2], "day": 50}]), pack) == []
    # an SMS nudge or a pay link restates the running deadline: never flagged
    nudges = flow(
        [
            steps[0],
            {"key": "sms", "day": 9, "action": "send_sms"},
            {"key": "link", "day": 10, "action": "send_pay_link"},
        ]
    )
    assert check_spacing(nudges, pack) == []


def test_flows_check_prints_the_warning_and_still_exits_ok(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    b2b = root / "flows" / "b2b.yaml"
    b2b.write_text(b2b.read_text(encoding="utf-8").replace("day: 18", "day: 14"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["flows", "check", "--format", "json", "-w", str(root)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["problems"]
    spacing = [r for r in rows if "deadline (day" in r["message"]]
    assert spacing and all(r["severity"] == "warning" and r["file"].endswith("b2b.yaml") for r in spacing)
    assert any(
        "b2b: compensation" not in r["message"]
        and "second_reminder on day 14 comes before reminder's deadline (day 17) has passed" in r["message"]
        for r in spacing
    )
