"""What the kernel counts of a process, read from /proc: CPU seconds and resident memory.

For rows that judge one process of several (each loan screening worker's busy cores, each
service's replay peak RSS): `resource.getrusage` sees only this process and its waited-for
children, while these read any process still running."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of_stat(stat: str, ticks_per_second: int = CLOCK_TICKS) -> float:
    """utime + stime (fields 14 and 15 of /proc/<pid>/stat) in seconds. The command name
    (field 2, in parentheses) may hold spaces and parentheses: fields are counted after its
    last ')'."""
    after_name = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(after_name[11]), int(after_name[12])  # fields 14, 15; field 3 is after_name[0]
    return (utime + stime) / ticks_per_second


def kib_of_status(status: str, field: str) -> int:
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM, …) in KiB."""
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            value, unit = line.split(":", 1)[1].split()
            if unit != "kB":
                raise ValueError(f"{field} in {unit}, not kB")
            return int(value)
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process, in seconds."""
    return cpu_of_stat(Path(f"/proc/{pid}/stat").read_text())


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a running process now (VmRSS) or at its peak so far (VmHWM)."""
    return kib_of_status(Path(f"/proc/{pid}/status").read_text(), field)
