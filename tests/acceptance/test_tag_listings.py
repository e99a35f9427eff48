"""Tag lists are listed on their own interval: between listings, an unchanged tag costs one
request, counted at the registry; newer versions still turn up once the interval passes."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.acceptance.cli import run
from tests.support.httpservers import Seen
from tests.support.proxy import GatedProxy
from tests.support.registry import RunningRegistry

ALWAYS_FREE = 10**9


def _config(path: Path, host: str, refs: list[str], db: Path, tags_interval: str) -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{db}"', f'tags_interval = "{tags_interval}"',
             "", "[[registries]]", f'host = "{host}"', "insecure = true", "retries = 0"]
    for ref in refs:
        lines += ["", "[[images]]", f'ref = "{ref}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def _requests(seen: list[Seen]) -> dict[str, int]:
    counts = {"HEAD manifest": 0, "GET manifest": 0, "tags": 0, "other": 0}
    for request in seen:
        if "/manifests/" in request.route:
            counts[f"{request.method} manifest"] = counts.get(f"{request.method} manifest", 0) + 1
        elif request.route.endswith("/tags/list"):
            counts["tags"] += 1
        else:
            counts["other"] += 1
    return counts


def _age_listings(db: Path, by: timedelta) -> None:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id, listed_at FROM tag_listings").fetchall()
        for row_id, listed_at in rows:
            older = datetime.fromisoformat(listed_at) - by  # stored as naive UTC
            conn.execute("UPDATE tag_listings SET listed_at = ? WHERE id = ?",
                         (older.strftime("%Y-%m-%d %H:%M:%S.%f"), row_id))
        conn.commit()
    finally:
        conn.close()


@pytest.mark.registry
def test_one_request_per_unchanged_tag_between_listings(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    with GatedProxy(registry_open.url, free=ALWAYS_FREE) as proxy:
        refs = []
        for name in ("a", "b"):
            for tag in ("1.0", "1.1"):
                push.push_image(f"{repository}/{name}", tag)
                refs.append(f"{proxy.host}/{repository}/{name}:{tag}")
        db = tmp_path / "watcher.db"
        config = _config(tmp_path / "watcher.toml", proxy.host, refs, db, "6h")

        def round_requests(*options: str) -> dict[str, int]:
            before = len(proxy.seen)
            result = run("check", "--config", str(config), *options)
            assert result.exit_code == 0, result.stdout + result.stderr
            return _requests(proxy.seen[before:])

        first = round_requests()
        assert first["tags"] == 2  # one listing per repository, shared by its two tags
        assert first["HEAD manifest"] == 4

        # A newer tag appears, but the listings are fresh: not looked for, not paid for.
        push.push_image(f"{repository}/a", "1.2")
        for _ in range(3):
            assert round_requests() == {"HEAD manifest": 4, "GET manifest": 0, "tags": 0,
                                        "other": 0}

        def newer_than_1_1() -> object:
            status = run("status", "--config", str(config), "--json").json
            image = next(i for i in status["images"]
                         if i["ref"] == f"{proxy.host}/{repository}/a:1.1")
            return (image.get("newer") or {}).get("same_line")

        assert newer_than_1_1() is None

        # Once the interval has passed, the next round lists again and finds 1.2.
        _age_listings(db, timedelta(hours=6, seconds=1))
        assert round_requests()["tags"] == 2
        assert newer_than_1_1() == "1.2"
        assert round_requests()["tags"] == 0

        # --list-tags lists now, whatever the interval.
        assert round_requests("--list-tags")["tags"] == 2


@pytest.mark.registry
def test_a_changed_tag_policy_ranks_again_at_once(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    with GatedProxy(registry_open.url, free=ALWAYS_FREE) as proxy:
        push.push_image(f"{repository}/p", "1.0")
        push.push_image(f"{repository}/p", "2.0")
        ref = f"{proxy.host}/{repository}/p:1.0"
        db = tmp_path / "watcher.db"
        config = _config(tmp_path / "watcher.toml", proxy.host, [ref], db, "6h")
        assert run("check", "--config", str(config)).exit_code == 0
        def newest() -> object:
            image = run("status", "--config", str(config), "--json").json["images"][0]
            return (image.get("newer") or {}).get("newest")

        assert newest() == "2.0"
        # An exclude that hides 2.0: the stored ranking no longer fits the policy.
        config.write_text(config.read_text() + "exclude = '^2'\n")
        before = len(proxy.seen)
        assert run("check", "--config", str(config)).exit_code == 0
        assert _requests(proxy.seen[before:])["tags"] == 1
        assert newest() is None
