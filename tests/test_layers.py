"""The floors of the code import one way, bottom up (docs/architecture.md).

Every import of every module of the packages is counted, at module level or
inside a function, a method or an ``if TYPE_CHECKING:`` block: an import that
goes up a floor fails the test, naming file:line. The CLI (presswatch/cli) is
the top floor and may import everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom up. A module's floor is that of its longest matching prefix.
FLOORS: list[tuple[str, int]] = [
    ("presswatch", 0),  # core: config, archive, text, http, sample sites
    ("pipelines", 1),
    ("crawler", 2),
    ("feeds", 3),
    ("scheduler", 4),
    ("presswatch.cli", 5),
    ("presswatch.__main__", 5),  # `python -m presswatch`: the CLI's entry point
]
FLOOR_NAMES = {0: "core (presswatch)", 1: "pipelines", 2: "crawler", 3: "feeds", 4: "scheduler",
               5: "presswatch.cli"}
PACKAGES = ("presswatch", "pipelines", "crawler", "feeds")
# Feeds never import the crawler (they publish what any crawl archived), though it is below them.
FORBIDDEN: dict[int, set[int]] = {3: {2}}


def floor_of(module: str) -> int | None:
    """The floor of a dotted module name; None for modules outside the packages (libraries)."""
    best: tuple[int, int] | None = None  # (prefix length, floor)
    for prefix, floor in FLOORS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), floor)
    return best[1] if best else None


def module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    files = [ROOT / "scheduler.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def imports_in(relative: Path, text: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of a file's text, relative ones resolved."""
    name = module_name(relative)
    package = name if relative.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text, filename=str(relative))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from pkg import module` may import pkg.module: count the deepest name.
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def problems_in(relative: Path, text: str) -> list[str]:
    """The imports of one file that go against the floor order, as 'file:line: ...'."""
    own = floor_of(module_name(relative))
    assert own is not None, relative
    problems = []
    for line, target in imports_in(relative, text):
        floor = floor_of(target)
        if floor is not None and (floor > own or floor in FORBIDDEN.get(own, set())):
            problems.append(f"{relative}:{line}: {FLOOR_NAMES[own]} imports {target} ({FLOOR_NAMES[floor]})")
    return problems


def test_every_import_goes_down_or_stays_on_its_floor():
    problems = [problem for path in source_files()
                for problem in problems_in(path.relative_to(ROOT), path.read_text(encoding="utf-8"))]
    assert not problems, "imports against the floor order:\n" + "\n".join(problems)


def test_the_check_reads_every_package_and_late_imports():
    names = {module_name(path.relative_to(ROOT)) for path in source_files()}
    assert {"scheduler", "presswatch.cli.main", "presswatch.archive.db", "feeds.publish",
            "crawler.run", "pipelines.story_index"} <= names
    assert len(names) > 60
    late = "def publish():\n    from feeds.publish import publish_feeds\n"
    assert imports_in(Path("scheduler.py"), late) == [(2, "feeds.publish.publish_feeds")]


@pytest.mark.parametrize(("source", "line", "expected"), [
    ("import feeds.publish\n", 1, "feeds.publish (feeds)"),
    ("import os\n\ndef f():\n    from crawler import run\n", 4, "crawler.run (crawler)"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from scheduler import Scheduler\n", 3,
     "scheduler.Scheduler (scheduler)"),
    ("from ..cli import main\n", 1, "presswatch.cli.main (presswatch.cli)"),
    ("from pipelines.story_index import StoryIndex\n", 1, "pipelines.story_index.StoryIndex (pipelines)"),
])
def test_an_upward_import_is_reported_with_file_and_line(source, line, expected):
    probe = Path("presswatch/archive/probe.py")
    assert problems_in(probe, source) == [f"{probe}:{line}: core (presswatch) imports {expected}"]


def test_imports_that_go_down_pass_and_feeds_never_import_the_crawler():
    assert problems_in(Path("presswatch/cli/probe.py"), "import scheduler\nfrom crawler import run\n") == []
    assert problems_in(Path("pipelines/probe.py"), "from presswatch.archive import db\n") == []
    assert problems_in(Path("feeds/probe.py"), "from crawler.run import run_crawl\n") == [
        "feeds/probe.py:1: feeds imports crawler.run.run_crawl (crawler)"]
