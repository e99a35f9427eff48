"""The status page and its JSON API over a real SQLite database filled by real check rounds
against the real registry: the views, the HTTP answers, escaping and the token."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.acceptance.cli import run, write_config
from tests.support.httpservers import HttpServer, Reply
from tests.support.page import serve_page
from tests.support.registry import RunningRegistry
from watcher.core.status import Attention
from watcher.store import Store
from watcher.views.dashboard import Filters
from watcher.web.pages import PageSource

HOSTILE = "<script>alert(1)</script>"


def _rounds(registry: RunningRegistry, repository: str, tmp_path: Path) -> tuple[Path, dict]:
    """Three images checked twice: ``moved`` has its tag moved between the rounds, ``newer``
    gets a newer version, ``still`` does not change."""
    push = registry.push
    refs = {}
    for name in ("moved", "newer", "still"):
        push.push_image(f"{repository}/{name}", "1.0")
        refs[name] = str(registry.ref(f"{repository}/{name}", "1.0"))
    db = tmp_path / "watcher.db"
    config = write_config(tmp_path / "watcher.toml", registry,
                          [{"ref": ref} for ref in refs.values()], database=f"sqlite:///{db}")
    assert run("check", "--config", str(config)).exit_code == 0
    refs["new_digest"] = push.move_tag(f"{repository}/moved", "1.0")
    push.push_image(f"{repository}/newer", "1.1")
    result = run("check", "--config", str(config), "--list-tags")  # the listing is fresh
    assert result.exit_code == 0, result.stderr
    return config, refs


@pytest.mark.registry
def test_views_follow_real_rounds(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    config, refs = _rounds(registry_open, repository, tmp_path)
    store = Store.open_existing(f"sqlite:///{tmp_path / 'watcher.db'}", read_only=True)
    try:
        source = PageSource(store)
        board, chart = source.overview(Filters())
        states = {row.ref: row.status for row in board.rows}
        assert states == {refs["moved"]: Attention.REBUILD_NEEDED,
                          refs["newer"]: Attention.NEWER_VERSION,
                          refs["still"]: Attention.UP_TO_DATE}
        assert board.rows[0].ref == refs["moved"]  # what needs attention first
        assert board.counts[Attention.REBUILD_NEEDED] == 1
        assert board.counts[Attention.UP_TO_DATE] == 1
        assert {row.ref: row.newer for row in board.rows}[refs["newer"]] == "1.1"
        assert board.columns == ()  # no container data: no column

        only, _ = source.overview(Filters.parse("newer_version", None))
        assert [row.ref for row in only.rows] == [refs["newer"]]
        found, _ = source.overview(Filters.parse(None, "STILL"))
        assert [row.ref for row in found.rows] == [refs["still"]]
        assert only.total == 3

        today = chart.last
        assert today == datetime.now(UTC).date()
        assert len({bar.x for bar in chart.bars}) == 1  # everything happened today
        assert {bar.series for bar in chart.bars} == {"changes", "new_versions"}
        assert "1 changes, 1 new versions, 0 failures" in chart.description

        detail = source.image(refs["moved"])
        assert detail is not None
        kinds = [entry.kind for entry in detail.timeline]
        assert kinds == ["digest_changed", "baseline"]  # newest first
        assert refs["new_digest"][7:19] in detail.timeline[0].text
        assert detail.events
        assert detail.events[0].kind == "digest_changed"
        assert source.image(f"{refs['still']}-nope") is None

        # The API says what `watcher status --json` says.
        cli = run("status", "--config", str(config), "--json").json
        cli.pop("warnings")
        assert source.status_document() == cli
        document = source.image_document(refs["moved"])
        assert document is not None
        assert document["image"]["status"] == "rebuild_needed"
        assert [e["kind"] for e in document["history"]] == ["baseline", "digest_changed"]
    finally:
        store.close()


@pytest.mark.registry
def test_pages_over_http(registry_open: RunningRegistry, repository: str, tmp_path: Path) -> None:
    config, refs = _rounds(registry_open, repository, tmp_path)
    with serve_page(f"sqlite:///{tmp_path / 'watcher.db'}") as page, \
            httpx.Client(base_url=page.url, timeout=30) as client:
        index = client.get("/")
        assert index.status_code == 200
        assert "text/html" in index.headers["content-type"]
        assert "script-src 'self'" in index.headers["content-security-policy"]
        assert f'href="/images/{refs["moved"]}"' in index.text
        assert '<th scope="col">Image</th>' in index.text
        assert '<label for="q">' in index.text
        assert '<label for="state">' in index.text
        assert "<svg" in index.text
        assert "<rect" in index.text
        assert 'id="fleet"' not in index.text  # one process alone: no replicas section
        # Nothing is loaded from elsewhere: every src and href is a path on this server.
        assert not re.findall(r'(?:src|href)="(?!/)', index.text)

        filtered = client.get("/", params={"state": "rebuild_needed"})
        assert refs["moved"] in filtered.text
        assert refs["still"] not in filtered.text

        image = client.get(f"/images/{refs['moved']}")
        assert image.status_code == 200
        assert "digest changed" in image.text
        assert client.get("/images/nowhere.example/none:1").status_code == 404

        status = client.get("/api/status").json()
        cli = run("status", "--config", str(config), "--json").json
        cli.pop("warnings")
        assert status == cli
        assert "fleet" not in status
        one = client.get(f"/api/images/{refs['moved']}")
        assert one.json()["image"]["ref"] == refs["moved"]
        assert client.get("/api/images/nowhere.example/none:1").status_code == 404
        assert client.get("/deliveries").status_code == 200
        assert client.get("/static/page.css").headers["content-type"].startswith("text/css")
        assert client.get("/static/../pyproject.toml").status_code == 404


@pytest.mark.registry
def test_a_hostile_registry_text_is_shown_as_text(tmp_path: Path) -> None:
    """The realm a registry names in its challenge ends up in the stored error."""
    challenge = f'Basic realm="{HOSTILE}"'
    with HttpServer(lambda seen: Reply(401, {"WWW-Authenticate": challenge})) as server:
        db = tmp_path / "watcher.db"
        ref = f"{server.host}/lib/app:1.0"
        config = tmp_path / "watcher.toml"
        config.write_text(
            f'[watcher]\ndatabase = {json.dumps(f"sqlite:///{db}")}\n\n'
            f'[[registries]]\nhost = "{server.host}"\ninsecure = true\nretries = 0\n\n'
            f'[[images]]\nref = "{ref}"\n'
        )
        run("check", "--config", str(config))
    with serve_page(f"sqlite:///{db}") as page, httpx.Client(base_url=page.url) as client:
        for path in ("/", f"/images/{ref}"):
            text = client.get(path).text
            assert HOSTILE not in text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert HOSTILE in client.get("/api/status").text  # JSON is data, not markup


@pytest.mark.registry
def test_the_token_guards_page_and_api(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    _rounds(registry_open, repository, tmp_path)
    with serve_page(f"sqlite:///{tmp_path / 'watcher.db'}", auth_token="s3cret") as page, \
            httpx.Client(base_url=page.url) as client:
        for path in ("/", "/api/status", "/deliveries", "/static/page.css"):
            refused = client.get(path)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Basic")
            assert "s3cret" not in refused.text
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        basic = base64.b64encode(b"anyone:s3cret").decode()
        assert client.get("/api/status",
                          headers={"Authorization": f"Basic {basic}"}).status_code == 200


@pytest.mark.registry
def test_deliveries_and_a_hostile_channel_name(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    """A webhook that answers 503: its deliveries wait with the error; its name (config text,
    anything goes) is shown as text; a counted column appears once it has data."""
    hostile_name = '<img src=x onerror="alert(1)">'
    push = registry_open.push
    push.push_image(f"{repository}/app", "1.0")
    ref = str(registry_open.ref(f"{repository}/app", "1.0"))
    db = tmp_path / "watcher.db"
    with HttpServer(lambda seen: Reply(503, body=b"down")) as hook:
        config = write_config(tmp_path / "watcher.toml", registry_open, [{"ref": ref}],
                              database=f"sqlite:///{db}")
        config.write_text(config.read_text() + (
            f"\n[[notify.webhook]]\nname = {json.dumps(hostile_name)}\n"
            f'url = "{hook.url}/hook"\n'))
        assert run("check", "--config", str(config)).exit_code == 0
        push.move_tag(f"{repository}/app", "1.0")
        run("check", "--config", str(config))
        assert hook.seen  # the delivery was tried, and refused
    escaped = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    with serve_page(f"sqlite:///{db}") as page, httpx.Client(base_url=page.url) as client:
        deliveries = client.get("/deliveries").text
        assert hostile_name not in deliveries
        assert escaped in deliveries
        assert "503" in deliveries  # the last error
        assert f'href="/images/{ref}"' in deliveries
        image = client.get(f"/images/{ref}").text
        assert hostile_name not in image
        assert escaped in image
        assert "pending" in image

        source = PageSource(page.store, counters={"containers": lambda store: {ref: 4},
                                                  "dependents": lambda store: {}})
        board, _ = source.overview(Filters())
        assert board.columns == ("containers",)
        assert board.rows[0].extra == {"containers": 4}
