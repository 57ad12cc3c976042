"""One writer per stage: a second process is refused with who holds the lock, and a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dunning.errors import WorkspaceBusy
from dunning.store import Store
from dunning.store.locks import stage_lock

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
