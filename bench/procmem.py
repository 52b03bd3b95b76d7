"""Memory of a process tree, read from /proc (Linux): no psutil needed.

`TreeSampler` polls a process and all its descendants (the crawl process, the
forkserver and the extraction workers forked from it) every ``interval``
seconds and keeps:

* ``peak_rss``: the highest total resident set size of the tree seen at one
  sample (VmRSS summed over the live processes);
* ``hwm_sum``: each process's own peak (VmHWM, kept by the kernel, last value
  read before the process exited) summed over every process the tree ever
  had. Peaks of different processes need not coincide, so this is an upper
  bound of the tree's true peak, and it does not depend on the sampling rate
  except for the last ``interval`` of each process's life.

Both count shared pages (the workers share the forkserver's copy-on-write
pages) once per process, so they overstate what the tree costs the machine.
With ``pss=True`` it also keeps ``peak_pss``: the highest total proportional
set size (/proc/N/smaps_rollup: each shared page divided among the processes
sharing it), what the tree really occupies; reading it costs the kernel a
page-table walk per process and sample.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

PROC = Path("/proc")


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes ({} when it is gone)."""
    values: dict[str, int] = {}
    try:
        text = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return values
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            values[key] = int(value.split()[0]) * 1024
    return values


_TICKS = os.sysconf("SC_CLK_TCK")


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (0 when it is gone or unreadable)."""
    try:
        text = (PROC / str(pid) / "smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (None when it is gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's children file)."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return found
    for task in tasks:
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def _children_by_scan(pid: int) -> list[int]:
    """Direct children of ``pid`` by reading every /proc/N/stat (when task/*/children is missing)."""
    found = []
    for entry in os.listdir(PROC):
        if not entry.isdigit():
            continue
        try:
            stat = (PROC / entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    lister = _children if (PROC / str(os.getpid()) / "task" / str(os.getpid()) / "children").exists() \
        else _children_by_scan
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue.extend(lister(pid))
    return tree


class TreeSampler:
    """Samples the memory of ``root``'s process tree in a thread until `stop`."""

    def __init__(self, root: int, interval: float = 0.1, pss: bool = False):
        self.root = root
        self.interval = interval
        self.pss = pss
        self.peak_pss = 0
        self.peak_rss = 0
        self.peak_processes = 0
        self.samples = 0
        self.hwm: dict[int, int] = {}  # pid -> last VmHWM read
        self.cpu: dict[int, float] = {}  # pid -> last CPU seconds read
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def hwm_sum(self) -> int:
        return sum(self.hwm.values())

    def sample(self) -> None:
        total = proportional = 0
        pids = process_tree(self.root)
        for pid in pids:
            status = _status(pid)
            if not status:
                continue
            total += status.get("VmRSS", 0)
            if self.pss:
                proportional += _pss(pid)
            self.hwm[pid] = max(self.hwm.get(pid, 0), status.get("VmHWM", 0))
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                self.cpu[pid] = cpu
            if pid not in self.names:
                try:
                    self.names[pid] = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ") \
                        .decode(errors="replace").strip()[:120]
                except OSError:
                    self.names[pid] = "?"
        self.samples += 1
        self.peak_pss = max(self.peak_pss, proportional)
        if total > self.peak_rss:
            self.peak_rss, self.peak_processes = total, len(pids)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def report(self) -> list[tuple[int, str, int, float]]:
        """(pid, command line, peak RSS, CPU seconds) of every process seen, largest first."""
        return sorted(((pid, self.names.get(pid, "?"), hwm, self.cpu.get(pid, 0.0))
                       for pid, hwm in self.hwm.items()), key=lambda row: -row[2])
