"""`presswatch store`: the one archive writer of a shared crawl (docs/scale-out.md)."""

from __future__ import annotations

import logging
import signal
import socket
from pathlib import Path
from typing import Any

import click
import redis

from presswatch.cli.options import config_errors, db_option, load, redis_option, sources_option, topics_option


@click.command()
@redis_option
@db_option
@sources_option
@topics_option
@click.option("--until-idle", is_flag=True,
              help="Exit once the stream is drained and no crawl process is left (for batch runs).")
@click.option("--consumer", default=lambda: socket.gethostname(), show_default="the host name",
              help="This writer's name in the consumer group: keep it across restarts, so that a "
                   "restarted writer takes up its own pending entries at once.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Entries applied per transaction.")
@click.option("--dead-after", type=click.FloatRange(min=1), default=15.0, show_default=True,
              help="Seconds without a heartbeat after which a crawl process counts as gone.")
@config_errors
def store(redis_url: str | None, db_path: Path, sources_path: Path, topics_path: Path, until_idle: bool,
          consumer: str, batch: int, dead_after: float) -> None:
    """Write what shared crawl processes (`crawl --redis`) send into the archive.

    Reads the Redis stream as a consumer group and writes each item as a
    one-process crawl does (dedupe, versions, stories, topics, crawl runs and
    problems), acknowledging each entry once committed; a killed writer resumes
    from its pending entries. Run exactly one per archive.

    \b
    Examples:
        presswatch store --redis redis://redis.example.org:6379/0 --db data/presswatch.db
        presswatch store --redis redis://127.0.0.1:6379/0 --until-idle   # drain, then exit
    """
    from pipelines.stream import connect
    from pipelines.stream_writer import StreamWriter

    if not redis_url:
        raise click.UsageError("give --redis URL (or set PRESSWATCH_REDIS)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    sources = load(sources_path)
    try:
        client = connect(redis_url)
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach Redis at {redis_url}: {exc}") from None
    writer = StreamWriter(client, db_path, sources, topics_path, consumer=consumer, batch=batch)
    stopping: list[int] = []

    def stop_after_batch(signum: int, _frame: Any) -> None:
        stopping.append(signum)  # finish the batch in hand: it is committed and acknowledged

    signal.signal(signal.SIGTERM, stop_after_batch)
    signal.signal(signal.SIGINT, stop_after_batch)
    published = writer.prepare()
    click.echo(f"Writing the stream of {redis_url} into {db_path} as {consumer!r}; "
               f"summary of {published} archived URLs published", err=True)
    try:
        report = writer.run(until_idle=until_idle, dead_after=dead_after, stop=lambda: bool(stopping))
    finally:
        writer.close()
        client.close()
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(report.outcomes.items())) or "none"
    rate = report.items / report.busy_seconds if report.busy_seconds else 0.0
    click.echo(f"{report.entries} entries applied ({report.already_applied} committed before, acknowledged); "
               f"items: {outcomes}; {report.items} items applied in {report.busy_seconds:.2f} s "
               f"({rate:.1f} items/s) over {report.seconds:.1f} s", err=True)
