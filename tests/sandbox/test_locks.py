"""Table-lock faults on the real sandbox: what they block, and how an operator ends them."""

from __future__ import annotations

import time

import psycopg
import pytest

from drills.errors import InputError
from drills.targets.base import LockMode, TableLockFaults
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.locks import TableLockHolder

pytestmark = [pytest.mark.integration]


def blocked(conninfo: str, statement: str) -> bool:
    """True when `statement` has to wait for a lock (it gives up after 200 ms); rolled back."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET lock_timeout = 200")
        try:
            conn.execute(statement)
        except psycopg.errors.LockNotAvailable:
            return True
        finally:
            conn.rollback()
    return False


def test_an_idle_transaction_with_an_exclusive_lock_blocks_reads_until_released(
    sandbox_target: SandboxTarget,
) -> None:
    assert isinstance(sandbox_target, TableLockFaults)
    conninfo = sandbox_target.sandbox.postgres_conninfo()
    pid = sandbox_target.hold_table_locks(
        ["runs"], LockMode.ACCESS_EXCLUSIVE, hold_seconds=30, busy=False
    )
    try:
        assert blocked(conninfo, "SELECT count(*) FROM runs")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            state = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
            assert state.fetchone() == ("idle in transaction",)
    finally:
        assert sandbox_target.release_table_locks() == 1
    assert not blocked(conninfo, "SELECT count(*) FROM runs")
    assert sandbox_target.release_table_locks() == 0


def test_a_long_query_holding_share_locks_blocks_writes_and_is_terminated(
    sandbox_target: SandboxTarget,
) -> None:
    conninfo = sandbox_target.sandbox.postgres_conninfo()
    pid = sandbox_target.hold_table_locks(
        ["canary_records", "runs"], LockMode.SHARE, hold_seconds=30, busy=True
    )
    try:
        assert blocked(conninfo, "INSERT INTO runs (name, status) VALUES ('t', 'blocked')")
        assert not blocked(conninfo, "SELECT count(*) FROM canary_records")  # reads pass
        time.sleep(0.6)
        assert pid in sandbox_target.terminate_long_queries(0.5)
        assert not blocked(conninfo, "INSERT INTO runs (name, status) VALUES ('t', 'free')")
    finally:
        sandbox_target.release_table_locks()


def test_lock_holders_are_bounded() -> None:
    with pytest.raises(InputError):
        TableLockHolder("dbname=x", ["runs"], LockMode.SHARE, hold_seconds=3600)
    with pytest.raises(InputError):
        TableLockHolder("dbname=x", [], LockMode.SHARE, hold_seconds=1)
