"""The /proc readers of bench/_proc.py, on fixed texts and on this very process."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _proc import cpu_of_stat, cpu_seconds, kib_of_status, rss_kib  # noqa: E402

# A real line's shape, with a command name holding spaces and a ')'.
STAT = "4242 (python -m (x) loans) S 1 4242 4242 0 -1 4194304 900 0 0 0 250 75 0 0 20 0 3 0 1000 123456 789 18446744073709551615"


def test_cpu_counts_utime_and_stime_after_the_command_name():
    assert cpu_of_stat(STAT, ticks_per_second=100) == pytest.approx(3.25)


def test_memory_lines_in_kib():
    status = "Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\n"
    assert kib_of_status(status, "VmHWM") == 81234
    assert kib_of_status(status, "VmRSS") == 80000
    with pytest.raises(KeyError):
        kib_of_status(status, "VmSwap")


def test_this_process_is_read_as_it_is():
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(300_000))
    assert cpu_seconds(os.getpid()) >= before
    assert 0 < rss_kib(os.getpid()) <= rss_kib(os.getpid(), "VmHWM")
