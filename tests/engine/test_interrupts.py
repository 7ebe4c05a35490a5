"""Ctrl-C and SIGTERM while something must finish: noted, not raised, and heard by every caller.

A fresh sandbox defers interrupts while it is removed; `drills run` defers them around that
removal too and stops a suite when one arrived. Real signals to this process, no mocks.
"""

from __future__ import annotations

import os
import signal

import pytest

from drills.interrupts import deferred_interrupts, sigterm_as_interrupt


def test_an_interrupt_inside_nested_deferrals_is_noted_by_each_and_raised_by_none() -> None:
    with deferred_interrupts() as outer:
        with deferred_interrupts() as inner:
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert inner == [signal.SIGINT]
    assert outer == [signal.SIGINT, signal.SIGTERM]


def test_handlers_come_back_after_a_deferral() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with deferred_interrupts():
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)


def test_sigterm_is_a_ctrl_c_while_a_run_lasts_and_deferred_while_it_ends() -> None:
    with sigterm_as_interrupt():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
        with deferred_interrupts() as received:
            os.kill(os.getpid(), signal.SIGTERM)
        assert received == [signal.SIGTERM]
