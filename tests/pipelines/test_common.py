"""The shared helpers: chunking (and the fan-out over chunks under Prefect), the retry policy, the date."""

from __future__ import annotations

import doctest
import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prefect import flow, task
from prefect.client.schemas.objects import State

import pipelines.common as common
from dunning.errors import PermanentDeliveryError, TransientDeliveryError
from pipelines.common import chunked, dunning_task, map_in_chunks, night_date, optional_function


def test_docstring_examples() -> None:
    assert doctest.testmod(common).failed == 0


def test_chunks_keep_order_and_cover_every_item_once() -> None:
    ids = list(range(1, 1235))
    chunks = chunked(ids, 500)
    assert [len(c) for c in chunks] == [500, 500, 234]
    assert [i for c in chunks for i in c] == ids
    assert chunked(ids, 5000) == [ids]
    assert chunked([], 300) == []


@pytest.mark.parametrize("size", [0, -3])
def test_chunk_size_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match=f"at least 1, got {size}"):
        chunked([1, 2], size)


def test_map_in_chunks_runs_one_task_per_chunk() -> None:
    seen: list[list[int]] = []
    lock = threading.Lock()

    @task(name="record chunk")
    def record(chunk: list[int], offset: int) -> int:
        with lock:
            seen.append(chunk)
        return sum(chunk) + offset

    @flow(name="fan-out over chunks")
    def fan_out(ids: list[int]) -> list[int]:
        return map_in_chunks(record, ids, 300, offset=1000)

    ids = list(range(1000))
    results = fan_out(ids)

    assert len(seen) == 4  # 300 + 300 + 300 + 100: four task runs, not a thousand
    assert sorted(i for chunk in seen for i in chunk) == ids
    assert results == [sum(c) + 1000 for c in chunked(ids, 300)]  # in chunk order, whatever finished first


def test_optional_function_finds_what_exists_and_only_that() -> None:
    from dunning.usecases.planning.night import run_night

    assert optional_function("dunning.usecases.planning.night", "run_night") is run_night
    assert optional_function("dunning.usecases.planning.night", "no_such_function") is None
    assert optional_function("dunning.usecases.not_written_yet", "reconcile_files") is None
    assert optional_function("no_such_package.module", "anything") is None


def _flaky_flow(error: Exception) -> tuple[State[Any], list[int]]:
    attempts: list[int] = []

    @dunning_task("fails once")
    def fails_once() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise error
        return "done"

    @flow(name="retry policy")
    def run() -> str:
        return fails_once.with_options(retry_delay_seconds=0)()

    state: State[Any] = run(return_state=True)
    return state, attempts


def test_a_transient_delivery_error_is_retried() -> None:
    state, attempts = _flaky_flow(TransientDeliveryError("SFTP connection reset"))
    assert state.is_completed() and state.result() == "done"
    assert len(attempts) == 2


@pytest.mark.parametrize(
    "error", [PermanentDeliveryError("mailbox does not exist"), ValueError("a bug"), KeyError("amount")]
)
def test_other_errors_are_not_retried(error: Exception) -> None:
    state, attempts = _flaky_flow(error)
    assert state.is_failed()
    assert len(attempts) == 1


def test_the_night_is_the_creditors_date_unless_given() -> None:
    late_evening_utc = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already Sunday in Brussels
    assert night_date(None, "Europe/Brussels", late_evening_utc) == date(2026, 3, 29)
    assert night_date(None, "America/New_York", late_evening_utc) == date(2026, 3, 28)
    assert night_date(" 2026-11-24 ", "Europe/Brussels", late_evening_utc) == date(2026, 11, 24)
    with pytest.raises(ValueError, match="'2026-13-01' is not YYYY-MM-DD"):
        night_date("2026-13-01", "Europe/Brussels")
