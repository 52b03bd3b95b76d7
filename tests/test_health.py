"""Source health rules (pure), their storage, the health feed, and the scheduler's schedule arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest

import scheduler as scheduler_module
from feeds.health import render_health_feed, write_health_feed
from presswatch.archive import health
from presswatch.archive.runs import recover_orphaned_runs
from presswatch.config.cron import crontab_weekdays, source_trigger
from presswatch.config.sources import Schedule, Source

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def run(id, status="ok", *, hours_ago=None, **counters):
    """A crawl_runs row: by default an incremental run that found 5 known items."""
    started = NOW - timedelta(hours=hours_ago if hours_ago is not None else 100 - id)
    row = {"id": id, "source": "moldova", "status": status, "reason": None,
           "started": started.isoformat().replace("+00:00", "Z"), "pages_fetched": 4, "not_modified": 0,
           "items_new": 0, "items_updated": 0, "items_unchanged": 0, "items_duplicate": 0, "items_removed": 0,
           "items_skipped": 5, "http_errors": 0, "no_title": 0, "no_date": 0, "no_body": 0, "errors": 0}
    row.update(counters)
    return row


def good_history(count=5):
    return [run(i) for i in range(1, count + 1)]


def rules(runs, **thresholds):
    verdict = health.evaluate(runs, health.Thresholds(**thresholds))
    return verdict.state, [finding.rule for finding in verdict.findings]


def test_a_source_without_runs_is_unknown():
    assert health.evaluate([]).state == health.UNKNOWN
    assert health.evaluate([run(1, "running")]).state == health.UNKNOWN


def test_failures_alone_are_judged_too():
    assert rules([run(1, "failed")]) == ("ok", [])
    assert rules([run(1, "failed"), run(2, "failed")]) == ("degraded", ["failing"])


def test_a_run_like_the_history_is_ok():
    assert rules(good_history() + [run(6)]) == ("ok", [])


def test_no_items_where_items_are_usual_is_degraded():
    verdict = health.evaluate(good_history() + [run(6, items_skipped=0)])
    assert verdict.state == health.DEGRADED
    assert verdict.findings[0].rule == "empty" and verdict.findings[0].run_caused
    assert verdict.reason == "found no items; 5 of its previous 5 good runs found some (typically 5)"
    assert verdict.run_reasons() == {6: verdict.reason}


def test_no_items_needs_a_history():
    assert rules([run(1), run(2), run(3, items_skipped=0)]) == ("ok", [])  # 2 good runs: too few
    assert rules([run(i, items_skipped=0) for i in range(1, 6)] + [run(6, items_skipped=0)]) == ("ok", [])


def test_empty_runs_marked_degraded_do_not_become_the_baseline():
    history = good_history() + [run(6 + i, "degraded", items_skipped=0) for i in range(10)]
    verdict = health.evaluate(history + [run(16, items_skipped=0)])
    assert [f.rule for f in verdict.findings] == ["empty"]
    assert verdict.reason.endswith("; 11 empty runs in a row")


def test_runs_that_did_not_record_skips_are_not_judged_empty():
    old = [run(i, items_skipped=None) for i in range(1, 6)]
    assert rules(old + [run(6, items_skipped=None)]) == ("ok", [])


def test_a_jump_in_undated_items_is_degraded():
    history = [run(i, hours_ago=4 - i, items_new=10, items_skipped=0, no_date=1) for i in range(1, 4)]
    verdict = health.evaluate(history + [run(4, hours_ago=0, items_new=10, items_skipped=0, no_date=6)])
    assert [f.rule for f in verdict.findings] == ["no_date"]
    assert verdict.reason == "6 of its 10 items had no date (60%; usually 10%)"
    assert rules(history + [run(4, hours_ago=0, items_new=10, no_date=3)]) == ("ok", [])  # +20 points
    assert rules(history + [run(4, hours_ago=0, items_new=2, no_date=2)]) == ("ok", [])  # too few items


def test_a_jump_in_items_without_body_is_degraded():
    history = [run(i, hours_ago=4 - i, items_new=8) for i in range(1, 4)]
    verdict = health.evaluate(history + [run(4, hours_ago=0, items_new=2, no_body=6)])
    assert [f.rule for f in verdict.findings] == ["no_body"]
    assert verdict.reason == "6 of its 8 items had no body text (75%; usually 0%)"


def test_an_error_rate_above_the_threshold_is_degraded():
    verdict = health.evaluate(good_history() + [run(6, pages_fetched=10, http_errors=3, errors=1)])
    assert [f.rule for f in verdict.findings] == ["errors"]
    assert verdict.reason == "4 of 11 requests failed (36%, limit 25%)"
    assert rules(good_history() + [run(6, pages_fetched=10, http_errors=2)]) == ("ok", [])  # 20%
    assert rules(good_history() + [run(6, pages_fetched=2, http_errors=1)]) == ("ok", [])  # too few


def test_a_failed_run_does_not_clear_a_degraded_state():
    history = good_history() + [run(6, "degraded", items_skipped=0), run(7, "failed", reason="HTTP 503")]
    assert rules(history) == ("degraded", ["empty"])
    assert rules(history + [run(8)]) == ("ok", [])


def test_failed_runs_in_a_row_are_degraded_and_interrupted_runs_do_not_count():
    one = good_history() + [run(6, "failed", reason="no page could be fetched")]
    assert rules(one) == ("ok", [])
    two = one + [run(7, "interrupted"), run(8, "timed_out", reason="hit the per-crawl time limit")]
    verdict = health.evaluate(two)
    assert [f.rule for f in verdict.findings] == ["failing"] and not verdict.findings[0].run_caused
    assert verdict.reason == "its last 2 runs failed (last: hit the per-crawl time limit)"
    assert rules(two + [run(9)]) == ("ok", [])


def test_silence_far_longer_than_the_usual_gap_is_stale():
    # new items every 24 h for a while, then nothing for 5 days of runs
    history = [run(i, hours_ago=24 * (10 - i), items_new=1) for i in range(1, 6)]
    history += [run(6 + i, hours_ago=24 * 5 - 6 * (i + 1)) for i in range(20)]
    verdict = health.evaluate(history)
    assert [f.rule for f in verdict.findings] == ["stale"] and not verdict.findings[0].run_caused
    assert verdict.reason == "no new item for 5 days; it usually has new items every 24 hours"
    assert rules(history, stale_factor=6) == ("ok", [])
    assert rules(history, stale_floor=timedelta(days=7)) == ("ok", [])
    assert rules(history[:2] + history[5:]) == ("ok", [])  # one gap: nothing learned yet


def test_record_stores_the_state_and_each_change(archive):
    def add(row):
        row = {k: v for k, v in row.items() if k != "id"}
        return archive["crawl_runs"].insert(row).last_pk

    for i in range(1, 5):
        add(run(i))
    verdict, event = health.check_source(archive, "moldova", NOW)
    assert verdict.state == "ok" and event is None  # a first verdict of ok is no change
    empty = add(run(5, items_skipped=0))
    verdict, event = health.check_source(archive, "moldova", NOW)
    assert (event.old_state, event.new_state, event.rules, event.run_id) == ("ok", "degraded", "empty", empty)
    assert archive["crawl_runs"].get(empty)["status"] == "degraded"
    assert archive["crawl_runs"].get(empty)["reason"].startswith("found no items")
    since = health.current_state(archive, "moldova")["since"]
    add(run(6, items_skipped=0))
    later = NOW + timedelta(hours=1)
    verdict, event = health.check_source(archive, "moldova", later)
    assert event is None  # still degraded, same rule
    assert health.current_state(archive, "moldova")["since"] == since
    add(run(7))
    verdict, event = health.check_source(archive, "moldova", later)
    assert (event.old_state, event.new_state, event.reason) == ("degraded", "ok", None)
    assert [e["new_state"] for e in health.events(archive)] == ["ok", "degraded"]


EVENTS = [
    {"id": 2, "source": "moldova", "at": "2024-03-01T13:00:00Z", "old_state": "degraded", "new_state": "ok",
     "rules": "", "reason": None, "run_id": 9},
    {"id": 1, "source": "moldova", "at": "2024-03-01T12:00:00Z", "old_state": "ok", "new_state": "degraded",
     "rules": "empty", "reason": "found no items; 5 of its previous 5 good runs found some (typically 5)",
     "run_id": 8},
]


def test_the_health_feed_lists_events_newest_first_and_is_deterministic():
    first = render_health_feed(EVENTS, "https://feeds.example.org/")
    assert first == render_health_feed(EVENTS, "https://feeds.example.org/")
    feed = feedparser.parse(first)
    assert not feed.bozo
    assert feed.feed.id == "tag:presswatch,2024:health"
    assert feed.feed.updated == "2024-03-01T13:00:00+00:00"
    assert [e.title for e in feed.entries] == ["moldova recovered", "moldova is degraded (empty)"]
    assert [e.id for e in feed.entries] == ["tag:presswatch,2024:health/moldova/2",
                                            "tag:presswatch,2024:health/moldova/1"]
    assert "Why: found no items" in feed.entries[1].content[0].value
    assert feed.feed.links[0].href == "https://feeds.example.org/health.atom"
    empty = feedparser.parse(render_health_feed([]))
    assert empty.feed.updated == "2000-01-01T00:00:00+00:00" and not empty.entries


def test_the_health_feed_is_written_atomically_and_only_when_it_changes(archive, tmp_path):
    path = write_health_feed(archive, tmp_path / "public")
    assert path == tmp_path / "public" / "health.atom"
    stamp = path.stat().st_mtime_ns
    write_health_feed(archive, tmp_path / "public")
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == ["health.atom"]  # no temporary file left


# ---------------------------------------------------------------- schedules


def source(schedule, timezone="UTC"):
    return Source(id="moldova", name="Moldova", kind="news", region="r", languages=["en"], timezone=timezone,
                  feeds=["https://moldova.iom.int/rss.xml"], schedule=Schedule(**schedule))


@pytest.mark.parametrize(("crontab", "expected"), [
    ("*", "*"), ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("5-7", "sun,fri,sat"),
    ("sat,sun", "sun,sat"), ("*/2", "sun,tue,thu,sat"), ("0-6", "*"), ("mon-wed", "mon,tue,wed"),
])
def test_crontab_weekdays_count_from_sunday(crontab, expected):
    assert crontab_weekdays(crontab) == expected


def test_cron_schedules_fire_on_crontab_weekdays_in_the_source_timezone():
    trigger = source_trigger(source({"cron": "0 7 * * 1-5"}, "Europe/Chisinau"))
    friday_evening = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, friday_evening)
    assert fire.astimezone(UTC) == datetime(2024, 3, 4, 5, 0, tzinfo=UTC)  # Monday 07:00 in Chisinau


def test_overdue_interval_and_cron_sources():
    every = source({"every": "6h"})
    assert scheduler_module.is_overdue(every, None, NOW)
    assert scheduler_module.is_overdue(every, NOW - timedelta(hours=6), NOW)
    assert not scheduler_module.is_overdue(every, NOW - timedelta(hours=5), NOW)
    assert scheduler_module.next_due(every, NOW - timedelta(hours=5)) == NOW + timedelta(hours=1)
    daily = source({"cron": "0 6 * * *", "jitter": "20m"})
    assert not scheduler_module.is_overdue(daily, datetime(2024, 3, 1, 6, 13, tzinfo=UTC), NOW)
    assert scheduler_module.is_overdue(daily, datetime(2024, 2, 29, 6, 13, tzinfo=UTC), NOW)


def test_orphaned_running_rows_are_marked_failed(archive):
    ids = [archive["crawl_runs"].insert({"source": s, "started": "2024-03-01T10:00:00Z", "status": "running",
                                         "pid": pid}).last_pk for s, pid in [("a", 11), ("b", 12), ("c", 13)]]
    recovered = recover_orphaned_runs(archive, keep={13}, alive=lambda pid: pid == 12,
                                                       now="2024-03-01T11:00:00Z")
    assert [row["id"] for row in recovered] == [ids[0]]
    row = archive["crawl_runs"].get(ids[0])
    assert (row["status"], row["reason"], row["finished"]) == (
        "failed", "crawl process 11 died without finishing its run", "2024-03-01T11:00:00Z")
    assert archive["crawl_runs"].get(ids[1])["status"] == "running"
    assert archive["crawl_runs"].get(ids[2])["status"] == "running"
