"""`bench/run` (python -m bench): presswatch's benchmarks (issue 9).

Builds what each measurement needs (the generated site, served on 127.0.0.1),
runs each measurement ``--repeat`` times and prints a table of medians, each
beside its target and whether it is met. Exits 1 only when a measurement fails
to run; a missed target is reported, not an error. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import traceback
from pathlib import Path

from bench.measurements import MEASUREMENTS, Context
from bench.report import ROOT, Figure, machine, now, table, update_docs, write_json

DEFAULT_WORKDIR = ROOT / "bench" / "out"  # git-ignored


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Run presswatch's benchmarks and print their medians against their targets.",
        epilog="Examples: bench/run --quick   |   bench/run --json bench/out/figures.json --docs   |   "
               "bench/run --only crawl --repeat 5",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for a smoke run (300-page crawl, 1,000-page memory crawl)")
    parser.add_argument("--only", action="append", metavar="NAME", default=[],
                        help="run only this measurement (repeatable, or comma-separated): "
                             + ", ".join(MEASUREMENTS))
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="runs of each measurement (default 3)")
    parser.add_argument("--workdir", type=Path, metavar="DIR", default=DEFAULT_WORKDIR,
                        help="crawl logs and generated archives (kept and reused: the million-item ones "
                             "take minutes to make); default bench/out")
    parser.add_argument("--docs", action="store_true",
                        help="replace the results block of docs/performance.md with this run's table")
    args = parser.parse_args(argv)
    names = [name.strip() for value in args.only for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement {unknown[0]!r} (known: {', '.join(MEASUREMENTS)})")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.names = names or list(MEASUREMENTS)
    return args


def log(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "bench/run" + ("".join(f" {shlex.quote(arg)}" for arg in sys.argv[1:]) if argv is None else "")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    info = {"command": command, "started": now(), "repeat": args.repeat, "quick": args.quick,
            "machine": machine()}
    log(f"{', '.join(args.names)}; {args.repeat} run(s) each{' (quick sizes)' if args.quick else ''}; "
        f"working in {workdir}")
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    ctx = Context(workdir=workdir, quick=args.quick, repeat=args.repeat, log=log)
    for name in args.names:
        started = time.perf_counter()
        try:
            figures.extend(MEASUREMENTS[name](ctx))
        except Exception as exc:  # a measurement that cannot run: report it, run the others
            errors[name] = f"{exc}"
            log(f"{name}: FAILED TO RUN: {exc}")
            traceback.print_exc(file=sys.stderr)
        else:
            log(f"{name}: done in {time.perf_counter() - started:.0f} s")
    info.update(finished=now(), load_average_end=machine()["load_average"], errors=errors)
    print()
    print(table(figures))
    host = info["machine"]
    print(f"\n{host['nproc']} cores ({host['cpu']}), {host['memory']} RAM, Python {host['python']}; "
          f"load average {host['load_average'][0]} at the start, {info['load_average_end'][0]} at the end.")
    missed = [figure.name for figure in figures if figure.met is False]
    if missed:
        print(f"Targets missed: {', '.join(missed)}")
    if errors:
        print(f"Failed to run: {', '.join(errors)}")
    if args.json:
        write_json(args.json, figures, info)
        print(f"Figures written to {args.json}")
    if args.docs:
        update_docs(figures, info)
        print("docs/performance.md updated")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
