"""Schedules: cron read as cron reads it, jitter defaults, stable per-repository offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger

from watcher.config import parse_config
from watcher.core.schedule import (
    Schedule,
    ScheduleError,
    default_jitter,
    parse_cron,
    slot_offset,
)
from watcher.errors import ConfigError
from watcher.service.schedules import group_by_schedule, trigger_for


@pytest.mark.parametrize(
    ("expression", "fields"),
    [
        ("0 3 * * *", ("0", "3", "*", "*", "*")),
        ("*/15 * * * *", ("0,15,30,45", "*", "*", "*", "*")),
        ("0 */6 * * 1-5", ("0", "0,6,12,18", "*", "*", "mon,tue,wed,thu,fri")),
        ("0 0 * * 0", ("0", "0", "*", "*", "sun")),
        ("0 0 * * 7", ("0", "0", "*", "*", "sun")),
        ("0 0 * * */2", ("0", "0", "*", "*", "sun,tue,thu,sat")),
        ("0 0 * * SAT,sun", ("0", "0", "*", "*", "sun,sat")),
        ("30 4 1,15 jan-mar *", ("30", "4", "1,15", "1,2,3", "*")),
        ("5 4 10/10 * *", ("5", "4", "10,20,30", "*", "*")),
        ("@daily", ("0", "0", "*", "*", "*")),
        ("@weekly", ("0", "0", "*", "*", "sun")),
        ("  0   3 * *   * ", ("0", "3", "*", "*", "*")),
    ],
)
def test_cron_fields(expression: str, fields: tuple[str, ...]) -> None:
    cron = parse_cron(expression)
    assert (cron.minute, cron.hour, cron.day, cron.month, cron.day_of_week) == fields


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 3 * *", "has 5 fields"),
        ("60 * * * *", "minute field: 60 is not from 0 to 59"),
        ("* 24 * * *", "hour field: 24"),
        ("* * 0 * *", "day field: 0"),
        ("* * * 13 *", "month field: 13"),
        ("* * * * 8", "day_of_week field: 8"),
        ("* * * * mon-xyz", "'xyz' is not a number"),
        ("*/0 * * * *", "step '0'"),
        ("5-1 * * * *", "runs backwards"),
        ("1,,2 * * * *", "an empty item"),
        ("0 0 1 * 1", "not both"),
        ("@sometimes", "has 5 fields"),
    ],
)
def test_bad_cron_is_refused_with_the_field(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_cron(expression)


def test_monday_means_monday_to_the_scheduler() -> None:
    # APScheduler numbers days from Monday; cron from Sunday. "1" must fire on a Monday.
    trigger = trigger_for(Schedule(interval=None, cron=parse_cron("0 9 * * 1"), timezone="UTC"))
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, datetime(2026, 12, 2, tzinfo=UTC))  # a Wednesday
    assert fire == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert fire.weekday() == 0


def test_cron_fires_in_its_time_zone() -> None:
    schedule = Schedule(interval=None, cron=parse_cron("0 3 * * *"), timezone="Europe/Berlin")
    fire = trigger_for(schedule).get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC))
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("interval", "jitter"), [(60, 6), (3600, 300), (600, 60), (None, 30)])
def test_default_jitter(interval: float | None, jitter: float) -> None:
    assert default_jitter(interval) == jitter


def test_offsets_are_stable_within_the_window_and_spread() -> None:
    offsets = [slot_offset(f"docker.io/library/img{i}", 300) for i in range(2000)]
    assert all(0 <= o < 300 for o in offsets)
    assert offsets == [slot_offset(f"docker.io/library/img{i}", 300) for i in range(2000)]
    assert len(set(offsets)) == 20  # every slot used
    assert max(offsets.count(o) for o in set(offsets)) < 2000 / 20 * 1.5
    assert slot_offset("x", 0) == 0
    assert {slot_offset(f"r{i}", 2.5) for i in range(50)} <= {0, 1.25}


def _config(watcher: dict[str, object], *images: dict[str, object]) -> object:
    return parse_config({"watcher": watcher, "images": [{"ref": "a:1"}, *images]})


def test_images_override_the_global_schedule_and_group_by_it() -> None:
    config = parse_config({
        "watcher": {"schedule": "0 */6 * * *", "timezone": "Europe/Berlin", "jitter": "1m",
                    "tags_interval": "1d"},
        "images": [
            {"ref": "a:1"},
            {"ref": "b:1", "interval": "5m"},
            {"ref": "c:1", "timezone": "UTC"},
            {"ref": "d:1", "interval": "5m", "tags_interval": "1h"},
        ],
    })
    schedules = [config.schedule_of(i) for i in config.images]
    assert schedules[0] == config.schedule
    assert schedules[0].timezone == "Europe/Berlin"
    assert schedules[1] == Schedule(interval=300, cron=None, timezone="Europe/Berlin", jitter=60)
    assert schedules[2].cron == config.schedule.cron
    assert schedules[2].timezone == "UTC"
    assert [config.tags_interval_of(i) for i in config.images] == [86400, 86400, 86400, 3600]
    groups = group_by_schedule(config)
    assert [[str(i.ref.tag) for i in images] for images in groups.values()] == [
        ["1"], ["1", "1"], ["1"]]
    assert config.first_check == "immediate"


@pytest.mark.parametrize(
    ("watcher", "key", "message"),
    [
        ({"interval": "1h", "schedule": "@daily"}, "watcher.schedule", "not both"),
        ({"schedule": "0 0 1 * 1"}, "watcher.schedule", "not both"),
        ({"schedule": 5}, "watcher.schedule", "must be"),
        ({"timezone": "Mars/Olympus"}, "watcher.timezone", "not a time zone"),
        ({"timezone": "../../etc/passwd"}, "watcher.timezone", "not a time zone"),
        ({"jitter": "-5m"}, "watcher.jitter", "not a duration"),
        ({"jitter": "2d"}, "watcher.jitter", "at most"),
        ({"tags_interval": "0"}, "watcher.tags_interval", "greater than zero"),
        ({"first_check": "later"}, "watcher.first_check", "immediate, scheduled"),
    ],
)
def test_bad_schedule_keys_name_the_key(watcher: dict[str, object], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _config(watcher)
    assert caught.value.key == key or key in str(caught.value)


def test_an_image_schedule_error_names_the_image() -> None:
    with pytest.raises(ConfigError, match=r"images\[1\]\.schedule: .*minute field"):
        _config({}, {"ref": "b:1", "schedule": "99 * * * *"})


def test_jitter_zero_turns_spreading_off() -> None:
    assert parse_config({"watcher": {"jitter": 0}}).schedule.effective_jitter() == 0
    assert parse_config({"watcher": {"jitter": "0s"}}).schedule.effective_jitter() == 0
