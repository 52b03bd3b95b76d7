"""Where presswatch looks for its files when the user names none, and where it publishes."""

from __future__ import annotations

from pathlib import Path

# Where `presswatch serve` serves public/ by default: the base of every feed's links
# unless --base-url / PRESSWATCH_BASE_URL says otherwise.
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"
DEFAULT_PUBLIC = Path("public")

# The checkout (or installed tree) that ships sources.toml and topics.toml.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_config(name: str) -> Path:
    """``name`` in the current directory, else the one shipped with presswatch."""
    here = Path(name)
    return here if here.exists() else PROJECT_ROOT / name


def default_sources() -> Path:
    return default_config("sources.toml")


def default_topics() -> Path:
    return default_config("topics.toml")
