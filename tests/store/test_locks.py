"""One writer per stage: a second process is refused with who holds the lock, and a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from dunning.errors import WorkspaceBusy
from dunning.store import Store, open_store
from dunning.store.locks import holding_stage_lock, stage_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from dunning.store import open_store
    from dunning.store.locks import stage_lock
    store = open_store(sys.argv[1])
    with stage_lock(store, sys.argv[2]):
        print("held", flush=True)
        time.sleep(120)
    """
)


@contextmanager
def held_by_another_process(store_url: str, stage: str) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, store_url, stage], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)


def test_a_second_process_is_refused_with_the_holder_and_a_killed_holder_frees_the_lock(
    store: Store, store_url: str
) -> None:
    with held_by_another_process(store_url, "run") as child:
        with pytest.raises(WorkspaceBusy) as refused, stage_lock(store, "run"):
            pytest.fail("the lock was taken twice")
        message = str(refused.value)
        assert message.startswith("another `dunning run` is working on this workspace since ")
        assert message.endswith(f", pid {child.pid}")

        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)

    # The dead holder holds nothing: the lock is free at once (PostgreSQL ends the session with its socket).
    for _attempt in range(50):
        try:
            with stage_lock(store, "run"):
                break
        except WorkspaceBusy:
            subprocess.run(["sleep", "0.1"], check=True)
    else:
        pytest.fail("the lock of a killed process was never freed")


def test_stages_do_not_block_each_other_and_a_released_lock_is_free(store: Store, store_url: str) -> None:
    with held_by_another_process(store_url, "letters"):
        with stage_lock(store, "dispatch"):
            pass
        with pytest.raises(WorkspaceBusy, match="`dunning letters`"), stage_lock(store, "letters"):
            pass
    with stage_lock(store, "letters"), stage_lock(store, "run"):
        pass
    with stage_lock(store, "letters"):
        pass


def test_an_unknown_stage_is_a_programming_error(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown stage"), stage_lock(store, "nightly"):
        pass


# ---- the decorator the use cases wear ------------------------------------------------------------------------

@holding_stage_lock("letters")
def _send(store: Store, seen: list[str]) -> None:
    seen.append("send")


@holding_stage_lock("letters")
def _render_then_send(store: Store, seen: list[str]) -> None:
    seen.append("render")
    _send(store, seen)  # `dunning letters`: render, then send, in one process and under one lock
    seen.append("rendered")


def test_the_decorator_is_reentrant_in_one_process_and_releases_at_the_outermost_exit(
    store: Store, store_url: str
) -> None:
    seen: list[str] = []
    _render_then_send(store=store, seen=seen)
    _render_then_send(open_store(store_url), seen)  # another Store object on the same database: same lock
    assert seen == ["render", "send", "rendered"] * 2
    # released: another process can take it now, and while it holds it this process is refused
    with held_by_another_process(store_url, "letters") as child, pytest.raises(
        WorkspaceBusy, match=rf"`dunning letters` .*, pid {child.pid}$"
    ):
        _send(store, seen)
    assert seen == ["render", "send", "rendered"] * 2


def test_nested_use_cases_keep_the_lock_until_the_outer_one_ends(store: Store, store_url: str) -> None:
    probe = textwrap.dedent(
        """
        import sys
        from dunning.errors import WorkspaceBusy
        from dunning.store import open_store
        from dunning.store.locks import stage_lock
        try:
            with stage_lock(open_store(sys.argv[1]), "letters"):
                print("free")
        except WorkspaceBusy:
            print("busy")
        """
    )

    def state() -> str:
        return subprocess.run([sys.executable, "-c", probe, store_url], capture_output=True, text=True,
                              check=True).stdout.strip()

    seen: list[str] = []

    @holding_stage_lock("letters")
    def outer(store: Store) -> None:
        _send(store, seen)
        seen.append(state())  # the inner use case has returned: the outer one still holds the lock

    outer(store)
    assert seen == ["send", "busy"]
    assert state() == "free"


def test_the_decorator_wants_a_store_parameter() -> None:
    with pytest.raises(TypeError, match="no `store` parameter"):

        @holding_stage_lock("run")
        def nothing_to_lock(day: str) -> None:
            """Has no store."""


FORKING_HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from dunning.store import open_store
    from dunning.store.locks import stage_lock
    store = open_store(sys.argv[1])
    with stage_lock(store, "import"):
        child = os.fork()  # the ledger reader's process pool forks like this while `import` holds its lock
        if child == 0:
            time.sleep(120)
            os._exit(0)
        print(child, flush=True)
        time.sleep(120)
    """
)


def test_a_child_forked_by_the_holder_does_not_keep_the_lock_after_the_holder_is_killed(
    store: Store, store_url: str
) -> None:
    holder = subprocess.Popen([sys.executable, "-c", FORKING_HOLDER, store_url], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    grandchild = int(holder.stdout.readline())
    try:
        with pytest.raises(WorkspaceBusy), stage_lock(store, "import"):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert os.path.exists(f"/proc/{grandchild}")  # the forked child lives on, as an orphaned pool worker would
        for _attempt in range(50):
            try:
                with stage_lock(store, "import"):
                    break
            except WorkspaceBusy:
                subprocess.run(["sleep", "0.1"], check=True)
        else:
            pytest.fail("the forked child kept the lock of its killed parent")
    finally:
        with suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)


def test_two_processes_opening_a_fresh_store_at_once_both_get_the_schema(store_url: str) -> None:
    """Two first commands on a new workspace: one creates the tables, the other waits and finds them."""
    opener = "import sys; from dunning.store import open_store; print(open_store(sys.argv[1]).revision())"
    openers = [subprocess.Popen([sys.executable, "-c", opener, store_url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in openers]
    assert [code for code, _out, _err in results] == [0, 0, 0], [err[-500:] for _c, _o, err in results]
    assert len({out for _code, out, _err in results}) == 1
