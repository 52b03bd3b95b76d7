"""Figures, their targets, and how they are printed (table), saved (JSON) and kept (docs/performance.md)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "performance.md"
DOCS_START = "<!-- bench:results:start (written by bench/run --docs) -->"
DOCS_END = "<!-- bench:results:end -->"

_OPS = {
    ">=": lambda value, target: value >= target,
    "<=": lambda value, target: value <= target,
    "<": lambda value, target: value < target,
    ">": lambda value, target: value > target,
}


@dataclass
class Figure:
    """One reported number: the median of its runs, with its target when it has one."""

    name: str
    unit: str
    runs: list[float] = field(default_factory=list)
    target: float | None = None
    op: str | None = None  # how value compares with target: >=, <=, <, >
    baseline: str | None = None  # what it is compared with, measured in the same run
    note: str | None = None
    slot: bool = False  # a measurement that is not wired in yet (value None)
    digits: int = 2

    @property
    def value(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None or self.op is None:
            return None
        return _OPS[self.op](self.value, self.target)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": None if self.value is None else round(self.value, 6),
            "unit": self.unit,
            "target": self.target,
            "op": self.op,
            "met": self.met,
            "runs": [round(run, 6) for run in self.runs],
            "baseline": self.baseline,
            "note": self.note,
            "slot": self.slot,
        }

    def cells(self) -> list[str]:
        value = "—" if self.value is None else f"{self.value:,.{self.digits}f} {self.unit}"
        target = f"{self.op} {self.target:g} {self.unit}" if self.target is not None else ""
        met = "slot" if self.slot else {True: "yes", False: "NO", None: ""}[self.met]
        runs = ", ".join(f"{run:,.{self.digits}f}" for run in self.runs) if len(self.runs) > 1 else ""
        return [self.name, value, target, met, runs]

    @property
    def notes(self) -> str:
        return "; ".join(part for part in (self.baseline, self.note) if part)


HEADERS = ["figure", "median", "target", "met", "runs"]


def table(figures: list[Figure], fmt: str = "simple") -> str:
    """The figures, then what each one is (its baseline and note) below the table."""
    rows = tabulate([figure.cells() for figure in figures], headers=HEADERS, tablefmt=fmt,
                    disable_numparse=True, colalign=("left", "right", "left", "left", "left"))
    bullet = "- " if fmt == "github" else "  "
    notes = [f"{bullet}{'`' + figure.name + '`' if fmt == 'github' else figure.name}: {figure.notes}"
             for figure in figures if figure.notes]
    return rows + ("\n\n" + "\n".join(notes) if notes else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_revision() -> str:
    try:
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision}{' (with uncommitted changes)' if dirty else ''}" if revision else "unknown"


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory": _memory_total(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "revision": _git_revision(),
    }


def write_json(path: Path, figures: list[Figure], info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**info, "figures": [figure.as_json() for figure in figures]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def docs_block(figures: list[Figure], info: dict[str, Any]) -> str:
    host = info["machine"]
    lines = [
        DOCS_START,
        f"Taken {info['finished'][:16].replace('T', ' ')} UTC with `{info['command']}` "
        f"(revision {host['revision']}), {info['repeat']} run(s) of each measurement.",
        "",
        f"Machine: {host['nproc']} cores ({host['cpu']}), {host['memory']} RAM, Python {host['python']}, "
        f"{host['platform']}; load average {host['load_average'][0]} at the start, "
        f"{info['load_average_end'][0]} at the end.",
        "",
        table(figures, fmt="github"),
    ]
    if info.get("errors"):
        lines += ["", "Measurements that failed to run:", ""]
        lines += [f"- {name}: {error.splitlines()[0]}" for name, error in info["errors"].items()]
    lines.append(DOCS_END)
    return "\n".join(lines)


def update_docs(figures: list[Figure], info: dict[str, Any], path: Path = DOCS) -> None:
    """Replace the results block of docs/performance.md with this run's figures."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(DOCS_START), text.find(DOCS_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no results block ({DOCS_START} ... {DOCS_END}) to replace")
    path.write_text(text[:start] + docs_block(figures, info) + text[end + len(DOCS_END):], encoding="utf-8")


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
