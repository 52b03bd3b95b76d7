"""`presswatch topics`: what each topic holds, why an item is in a topic, how good the rules are."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from pipelines.topic_evaluation import decided_by, evaluate, read_labelled, share_warnings
from pipelines.topics import Classifier, query_hits
from presswatch.archive.db import open_archive
from presswatch.archive.items import find_item
from presswatch.cli.options import config_errors, db_option, require_archive, topics_option
from presswatch.config.topics import load_topics


@click.group("topics", invoke_without_command=True)
@db_option
@topics_option
@click.pass_context
@config_errors
def topics_group(ctx: click.Context, db_path: Path, topics_path: Path) -> None:
    """List the topics with their item counts and share of the archive.

    Warns about a topic holding more than a quarter of the archive's items
    (its rules probably take passing mentions). Subcommands: `explain` (why an
    item is or is not in each topic), `evaluate` (precision and recall against
    labelled items).

    \b
    Examples:
        presswatch topics --db data/presswatch.db
        presswatch topics explain 42
        presswatch topics evaluate ../shared/corpora/topics/labelled.jsonl
    """
    if ctx.invoked_subcommand is not None:
        return
    topics = load_topics(topics_path)
    require_archive(db_path)
    db = open_archive(db_path)
    try:
        total = db.execute("SELECT count(*) FROM items WHERE status = 'active'").fetchone()[0]
        counts = dict(db.execute(
            "SELECT t.topic, count(*) FROM item_topics AS t JOIN items AS i ON i.id = t.item_id "
            "WHERE i.status = 'active' GROUP BY t.topic").fetchall())
    finally:
        db.close()
    rows = [[topic.id, topic.title, counts.get(topic.id, 0),
             f"{counts.get(topic.id, 0) / total:.0%}" if total else "-"] for topic in topics]
    click.echo(tabulate(rows, headers=["topic", "title", "items", "share"]))
    click.echo(f"\n{len(topics)} topics over {total} active items in {db_path}.")
    for warning in share_warnings(((topic.id, counts.get(topic.id, 0)) for topic in topics), total):
        click.echo(f"warning: {warning}", err=True)


@topics_group.command("explain")
@click.argument("item_key", metavar="ITEM")
@click.option("--topic", "topic_id", default=None, help="Only this topic.")
@db_option
@topics_option
@config_errors
def explain(item_key: str, topic_id: str | None, db_path: Path, topics_path: Path) -> None:
    """Why an archived item is or is not in each topic.

    ITEM is an item id or URL. For each topic: the verdict, the score and the
    threshold, and every term that matched (where: title, lead or body; how
    often; its weight; what it added), as topics.toml now stands.

    \b
    Example:
        presswatch topics explain https://www.iom.int/news/remittances-prove-resilient
        presswatch topics explain 42 --topic covid-19
    """
    topics = load_topics(topics_path)
    if topic_id is not None:
        topics.get(topic_id)  # a ConfigError naming the known topics
    classifier = Classifier(topics)
    require_archive(db_path)
    db = open_archive(db_path)
    try:
        item = find_item(db, item_key)
        if item is None:
            raise click.ClickException(f"no archived item {item_key!r} (give an item id or URL)")
        hits = query_hits(db, classifier, item["id"]).get(item["id"], set())
    finally:
        db.close()
    click.echo(f"{item['title']}\n{item['url']} "
               f"(item {item['id']}, {item.get('kind')}, {item.get('language')})\n")
    for decision in classifier.score(item, hits):
        if topic_id is not None and decision.topic != topic_id:
            continue
        verdict = "IN " if decision.accepted else "out"
        click.echo(f"{verdict} {decision.topic}: {decision.reason}")
        for hit in decision.hits:
            click.echo(f"      {hit.describe()}")


@topics_group.command("evaluate")
@click.argument("labelled", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                metavar="FILE.jsonl")
@click.option("--json", "as_json", is_flag=True,
              help="Print the items, per-topic and overall figures as JSON.")
@topics_option
@config_errors
def evaluate_command(labelled: Path, as_json: bool, topics_path: Path) -> None:
    """Precision, recall and F1 of topics.toml on labelled items.

    FILE.jsonl has one JSON object a line: url, title, body, language and
    topics (the ids of the topics the item is substantially about); summary,
    source, kind and countries optional. Prints per-topic and micro/macro
    figures, then each false positive and false negative with the terms that
    decided it.

    \b
    Example:
        presswatch topics evaluate ../shared/corpora/topics/labelled.jsonl
        presswatch topics evaluate labelled.jsonl --json > evaluation.json
    """
    classifier = Classifier(load_topics(topics_path))
    result = evaluate(classifier, read_labelled(labelled))
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=1))
        return
    rows = [[topic, c.tp + c.fn, c.tp + c.fp, c.tp, c.fp, c.fn, f"{c.precision:.2f}", f"{c.recall:.2f}",
             f"{c.f1:.2f}"] for topic, c in result.measured.items()]
    micro, macro = result.micro, result.macro
    rows.append(["micro", micro.tp + micro.fn, micro.tp + micro.fp, micro.tp, micro.fp, micro.fn,
                 f"{micro.precision:.2f}", f"{micro.recall:.2f}", f"{micro.f1:.2f}"])
    rows.append(["macro", "", "", "", "", "", f"{macro['precision']:.2f}", f"{macro['recall']:.2f}",
                 f"{macro['f1']:.2f}"])
    click.echo(tabulate(rows, headers=["topic", "labelled", "assigned", "tp", "fp", "fn", "P", "R", "F1"]))
    click.echo(f"\n{len(result.items)} items from {labelled}, topics from {topics_path}.")
    errors = result.errors()
    for kind, heading in (("fp", "False positives (assigned, not labelled)"),
                          ("fn", "False negatives (labelled, not assigned)")):
        chosen = [(topic, item) for error_kind, topic, item in errors if error_kind == kind]
        click.echo(f"\n{heading}: {len(chosen)}")
        for topic, item in chosen:
            click.echo(f"  {topic}: {item.title[:80]}\n    {item.url}\n"
                       f"    {decided_by(item.decisions.get(topic))}")
