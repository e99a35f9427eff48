"""Shared replicas' pure rules: the ``replicas`` keys, when an image is due again, when a
registry's budget is spent fleet-wide, each replica's share of a rate, the image set's
identity, `watcher status`'s fleet lines, the page's fleet section and the fleet gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watcher.config import parse_config
from watcher.core.schedule import Schedule, parse_cron
from watcher.errors import ConfigError
from watcher.registry import Rate, RegistrySettings
from watcher.service import sharing
from watcher.service.metrics import REFRESH, Metrics
from watcher.service.sharing import (
    image_set_digest,
    next_check,
    reserved_until,
    shared_settings,
)
from watcher.store import FleetCounts, RegistryBudget, ReplicaStatus
from watcher.views.fleet import fleet_document, fleet_lines, fleet_page

PG = "postgresql+psycopg://watcher@db/watcher"
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _config(**watcher: object) -> object:
    return parse_config({"watcher": watcher}, path=Path("/etc/watcher/watcher.toml"))


def test_single_is_the_default() -> None:
    config = parse_config({})
    assert not config.replicas.shared
    assert config.replicas.lease == 120.0


def test_shared_on_postgresql_with_its_lease_and_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_INSTANCE", "watcher-1")
    config = parse_config({"watcher": {"database": PG, "replicas": "shared", "lease": "30s",
                                       "claim_batch": 25}})
    assert config.replicas.shared
    assert (config.replicas.lease, config.replicas.claim_batch) == (30.0, 25)
    assert config.replicas.name == "watcher-1"


def test_without_an_instance_name_a_replica_is_named_by_host_and_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHER_INSTANCE", raising=False)
    monkeypatch.setattr("socket.gethostname", lambda: "node7")
    monkeypatch.setattr("os.getpid", lambda: 4242)
    config = parse_config({"watcher": {"database": PG, "replicas": "shared"}})
    assert config.replicas.name == "node7-4242"


def test_shared_on_sqlite_is_refused_naming_file_and_key() -> None:
    with pytest.raises(ConfigError) as caught:
        _config(replicas="shared")
    text = str(caught.value)
    assert "/etc/watcher/watcher.toml" in text
    assert "watcher.replicas" in text
    assert "PostgreSQL" in text


@pytest.mark.parametrize(("watcher", "key", "words"), [
    ({"replicas": "many"}, "watcher.replicas", "'many'"),
    ({"replicas": 3}, "watcher.replicas", "string"),
    ({"database": PG, "replicas": "shared", "lease": "0.5s"}, "watcher.lease", "at least"),
    ({"database": PG, "replicas": "shared", "lease": "2h"}, "watcher.lease", ""),
    ({"database": PG, "replicas": "shared", "claim_batch": 0}, "watcher.claim_batch", ""),
    ({"database": PG, "replicas": "shared", "claim_batch": 5000}, "watcher.claim_batch", ""),
])
def test_bad_replica_settings_are_refused(watcher: dict[str, object], key: str,
                                          words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(**watcher)
    assert key in str(caught.value)
    assert words in str(caught.value)


def test_an_interval_keeps_its_cadence_from_the_due_time() -> None:
    every_minute = Schedule(interval=60.0, jitter=0.0)
    due = NOW - timedelta(seconds=5)  # checked 5 s late: the next one is not pushed later
    assert next_check(every_minute, "r/a", due, NOW) == due + timedelta(seconds=60)


def test_an_interval_fallen_a_whole_interval_behind_restarts_from_now() -> None:
    every_minute = Schedule(interval=60.0, jitter=0.0)
    due = NOW - timedelta(seconds=90)
    assert next_check(every_minute, "r/a", due, NOW) == NOW + timedelta(seconds=60)


def test_the_first_check_spreads_repositories_over_the_jitter() -> None:
    spread = Schedule(interval=3600.0, jitter=300.0)
    offsets = {next_check(spread, f"r/{n}", None, NOW) - NOW - timedelta(hours=1)
               for n in range(50)}
    assert len(offsets) > 5
    assert all(timedelta(0) <= o < timedelta(seconds=300) for o in offsets)
    # Stable: the same repository gets the same offset every time.
    assert next_check(spread, "r/1", None, NOW) == next_check(spread, "r/1", None, NOW)


def test_a_cron_schedule_is_due_at_its_next_time() -> None:
    hourly = Schedule(interval=None, cron=parse_cron("@hourly"), jitter=0.0)
    assert next_check(hourly, "r/a", NOW, NOW + timedelta(minutes=10)) == NOW + timedelta(hours=1)
    berlin = Schedule(interval=None, cron=parse_cron("0 9 * * *"), timezone="Europe/Berlin",
                      jitter=0.0)
    # 09:00 in Berlin is 08:00 UTC: checked at that very time, it is due the next day.
    assert next_check(berlin, "r/a", None, NOW) == NOW + timedelta(days=1)
    assert next_check(berlin, "r/a", None, NOW - timedelta(hours=1)) == NOW


def _budget(**values: object) -> RegistryBudget:
    base: dict[str, object] = {"registry": "docker.io", "observed_at": NOW, "limit": 100,
                               "remaining": 50, "window_seconds": 21600.0}
    base.update(values)
    return RegistryBudget(**base)  # type: ignore[arg-type]


def test_a_budget_down_to_the_reserve_holds_every_replica_until_its_window_ends() -> None:
    assert reserved_until(_budget(remaining=2), 0.02, NOW) == NOW + timedelta(hours=6)
    assert reserved_until(_budget(remaining=1), 0.02, NOW + timedelta(hours=1)) == \
        NOW + timedelta(hours=6)


@pytest.mark.parametrize("budget", [
    _budget(remaining=3),                                  # above the reserve
    _budget(remaining=0, observed_at=NOW - timedelta(hours=7)),  # its window passed
    _budget(limit=None, remaining=None),                   # no budget stated
    _budget(remaining=0, window_seconds=None),             # no window: the client decides
])
def test_a_budget_not_spent_holds_nobody(budget: RegistryBudget) -> None:
    assert reserved_until(budget, 0.02, NOW) is None


def test_a_registry_that_asked_to_back_off_holds_every_replica() -> None:
    later = NOW + timedelta(seconds=30)
    assert reserved_until(_budget(paused_until=later), 0.02, NOW) == later


def test_each_live_replica_takes_its_share_of_a_registry_s_rate() -> None:
    hub = RegistrySettings(host="docker.io", rate=Rate(10, 1.0))
    free = RegistrySettings(host="ghcr.io")
    default = RegistrySettings(rate=Rate(6, 60.0))
    per_host, fallback = shared_settings(({"docker.io": hub, "ghcr.io": free}, default), 4)
    assert per_host["docker.io"].rate == Rate(2.5, 1.0)
    assert per_host["ghcr.io"].rate is None
    assert fallback.rate == Rate(1.5, 60.0)
    alone = ({"docker.io": hub}, default)
    assert shared_settings(alone, 1) == alone


def test_the_image_set_digest_ignores_order_and_sees_every_ref() -> None:
    def config(*refs: str) -> object:
        return parse_config({"images": [{"ref": r} for r in refs]})

    assert image_set_digest(config("a:1", "b:1")) == image_set_digest(config("b:1", "a:1"))
    assert image_set_digest(config("a:1", "b:1")) != image_set_digest(config("a:1"))


def test_the_fleet_as_status_shows_it() -> None:
    replicas = [
        ReplicaStatus("watcher-0", NOW - timedelta(hours=1), NOW, True, 12, 840.0, 9000,
                      NOW - timedelta(minutes=2), 50, 4),
        ReplicaStatus("watcher-1", NOW - timedelta(hours=2), NOW - timedelta(minutes=10),
                      False, 0, 0.0, 100, None, None, 3),
    ]
    lines = fleet_lines(replicas, 4, NOW)
    assert lines[0] == "Replicas: 1 alive of 2, image set v4"
    assert "watcher-0  alive  12 leases  840 checks/min  last round 2m ago (50 checks)" in lines[1]
    assert "gone (last heartbeat 10m ago)" in lines[2]
    assert "image set v3 (behind)" in lines[2]
    document = fleet_document(replicas, 4)
    assert document["alive"] == 1
    assert document["replicas"][0]["leases"] == 12


def test_images_outside_the_config_are_said_once_and_skipped_up_to_the_cap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sharing, "MAX_SKIP", 3)
    outside = sharing.OutsideImages()
    assert outside.note(["a", "b", "a"])
    assert outside.skip == {"a", "b"}
    assert not outside.note(["b", "c", "d"])  # said once; the cap keeps the list short
    assert outside.skip == {"a", "b", "c"}
    assert not outside.note(["e"])
    assert outside.skip == {"a", "b", "c"}


def test_the_fleet_as_the_page_shows_it() -> None:
    replicas = [
        ReplicaStatus("watcher-0", NOW - timedelta(hours=1), NOW, True, 12, 840.0, 9000,
                      NOW - timedelta(minutes=2), 50, 4),
        ReplicaStatus("watcher-1", NOW - timedelta(hours=1), NOW, True, 3, 60.4, 900,
                      None, None, 3),
        ReplicaStatus("watcher-2", NOW - timedelta(hours=2), NOW - timedelta(minutes=10),
                      False, 7, 5.0, 100, None, None, None),
    ]
    page = fleet_page(replicas, 4, NOW)
    # Leases and pace of the live replicas only: a gone one's are history.
    assert page.summary == "2 alive, 1 gone; 15 leases held, 900 checks/min, image set v4"
    first, behind, gone = page.rows
    assert (first.state, first.leases, first.checks_per_minute, first.last_round,
            first.image_set) == ("alive", 12, "840", "2m ago (50 checks)", "v4")
    assert (behind.last_round, behind.image_set) == ("no round yet", "v3 (behind)")
    assert (gone.alive, gone.state, gone.image_set) == (
        False, "gone (last heartbeat 10m ago)", "-")
    assert fleet_page([], None, NOW).summary == "0 alive, 0 gone; 0 leases held, 0 checks/min"


def _samples(metrics: Metrics) -> dict[str, float]:
    return {
        f"{s.name}{{{','.join(f'{k}={v}' for k, v in s.labels.items())}}}": s.value
        for family in metrics.registry.collect() if family.name.startswith("watcher_fleet")
        for s in family.samples
    }


def test_the_fleet_gauges_are_set_at_most_once_per_refresh() -> None:
    clock = [100.0]
    metrics = Metrics("watcher-0", clock=lambda: clock[0])
    assert metrics.fleet_stale()
    assert _samples(metrics) == {}  # a single process shows no fleet
    assert b"watcher_fleet" not in metrics.render()
    counts = FleetCounts(alive=2, gone=1, checks_per_minute=120.0,
                         leases={"watcher-0": 5, "watcher-1": 9}, due=40, overdue=3,
                         image_set_version=4)
    metrics.observe_fleet(counts, replica="watcher-0", follows=3, claims_per_minute=55.0)
    assert _samples(metrics) == {
        "watcher_fleet_replicas{state=alive}": 2.0, "watcher_fleet_replicas{state=gone}": 1.0,
        "watcher_fleet_leases{}": 5.0, "watcher_fleet_images_due{}": 40.0,
        "watcher_fleet_images_overdue{}": 3.0, "watcher_fleet_claims_per_minute{}": 55.0,
        "watcher_fleet_checks_per_minute{}": 120.0,
        "watcher_fleet_image_set_version{which=followed}": 3.0,
        "watcher_fleet_image_set_version{which=newest}": 4.0,
    }
    clock[0] += REFRESH - 1
    assert not metrics.fleet_stale()
    clock[0] += 1
    assert metrics.fleet_stale()


def test_watcher_run_refuses_shared_replicas_on_sqlite_without_a_traceback(
        tmp_path: Path) -> None:
    from click.testing import CliRunner

    from watcher.cli import main

    config = tmp_path / "watcher.toml"
    config.write_text('[watcher]\nreplicas = "shared"\n\n[[images]]\nref = "python:3.12"\n')
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert str(config) in result.output
    assert "watcher.replicas" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "watcher.db").exists()  # refused before anything was opened


def test_shared_replicas_refuse_engine_sources_naming_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"watcher": {"database": PG, "replicas": "shared"},
                      "sources": {"engine": [{"name": "host",
                                              "url": "unix:///var/run/docker.sock"}]}},
                     path=Path("/etc/watcher/watcher.toml"))
    text = str(caught.value)
    assert "sources.engine" in text
    assert "/etc/watcher/watcher.toml" in text
    assert "shared" in text
