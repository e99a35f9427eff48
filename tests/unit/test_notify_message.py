"""The message model, error-text cleaning and the templates: pure code, no servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.receivers import NEW, OLD, notice, three
from watcher.core.retry_after import parse_retry_after
from watcher.notify import Batch, Notice, Outcome, OutcomeKind
from watcher.notify.errors import ChannelError
from watcher.notify.redact import clean, redact_url
from watcher.notify.wording import Templates


def test_an_image_listed_twice_appears_once_and_the_batch_id_is_stable() -> None:
    batch = three()
    assert [n.image for n in batch.notices] == ["python:3.12-slim", "node:20", "redis:7"]
    again = Batch.of(reversed(batch.notices))
    assert again.id == batch.id
    assert batch.id.startswith("batch-")
    assert Batch.of([notice("a:1")]).id == "evt-a:1-digest_changed"
    assert Batch.single(notice("a:1")).id == "evt-a:1-digest_changed"


def test_two_kinds_for_one_image_are_kept_and_grouped_under_it() -> None:
    batch = Batch.of([notice("a:1"), notice("b:1"), notice("a:1", kind="new_version")])
    assert len(batch) == 3
    assert [(image, [n.kind for n in ns]) for image, ns in batch.images()] == [
        ("a:1", ["digest_changed", "new_version"]), ("b:1", ["digest_changed"])]


def test_a_notice_must_be_json_and_timezone_aware() -> None:
    with pytest.raises(TypeError):
        notice(extra=object())
    with pytest.raises(ValueError, match="timezone"):
        type(notice())(event_id="x", kind="k", image="i", time=datetime(2026, 1, 1),
                       summary="s")
    document = three().to_json()
    assert json.loads(json.dumps(document))["count"] == 3
    assert document["events"][0]["time"] == "2026-12-02T14:00:05Z"  # type: ignore[index]


def test_error_texts_are_bounded_escaped_and_free_of_secrets() -> None:
    text = ("login failed for hunter2 at https://bob:pw1@hook.example/x?token=tok9&a=1\n"
            "Authorization: Bearer abc.def\n\x1b[31m " + "y" * 2000)
    cleaned = clean(text, secrets=["hunter2"])
    for secret in ("hunter2", "pw1", "tok9", "abc.def", "bob:"):
        assert secret not in cleaned
    assert "\n" not in cleaned
    assert "\x1b" not in cleaned
    assert "\\x1b" in cleaned
    assert len(cleaned) < 560
    assert cleaned.endswith("more characters)")
    assert redact_url("https://u:p@h.example:8443/p?x=1") == "https://***@h.example:8443/p?x=***"


def test_a_secret_is_masked_before_the_text_is_cut() -> None:
    secret = "s3cr3t-" * 10
    cleaned = clean("x" * 480 + secret, secrets=[secret], limit=500)
    assert "s3cr3t" not in cleaned


def test_outcomes_clean_their_error_and_keep_a_retry_delay() -> None:
    outcome = Outcome.retry("boom pw\x00", retry_after=-3, secrets=["pw"])
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_after == 0
    assert outcome.error == "boom ***\\x00"
    assert Outcome.delivered().ok
    assert not Outcome.failed("no").ok


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Wed, 02 Dec 2026 15:01:30 GMT", now=now) == 90
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_default_wording_names_count_first_images_and_what_to_do() -> None:
    templates = Templates()
    batch = Batch.of([notice(f"img{i}:1") for i in range(5)])
    assert templates.line("subject.txt", batch) == (
        "5 base images changed: img0:1, img1:1, img2:1, ...")
    assert templates.line("subject.txt", Batch.of([notice("a:1")])) == (
        "1 base image changed: a:1")
    text = templates.render("email.txt", three())
    assert f"{OLD[:19]} -> {NEW[:19]}" in text
    assert "platforms changed: linux/amd64, linux/arm64" in text
    assert "newer versions: 3.13-slim" in text
    assert "To do: rebuild the images built FROM redis:7" in text


def test_html_is_autoescaped_and_text_is_not() -> None:
    batch = Batch.of([notice("a:1", tag="<script>x</script>")])
    templates = Templates()
    assert "&lt;script&gt;" in templates.render("email.html", batch)
    assert "<script>x</script>" in templates.render("email.txt", batch)


def test_a_user_directory_overrides_one_template_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "subject.txt").write_text("[rebuild] {{ count }} {{ batch.id }}\n")
    templates = Templates(tmp_path)
    batch = three()
    assert templates.line("subject.txt", batch) == f"[rebuild] 3 {batch.id}"
    assert "To do:" in templates.render("email.txt", batch)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "subject.txt").write_text("{{ batch.__class__.__mro__ }}")
    with pytest.raises(ChannelError, match=r"subject\.txt"):
        Templates(tmp_path).render("subject.txt", three())


def test_a_missing_template_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match="nope"):
        Templates(tmp_path / "nope")


def test_the_email_names_each_dependent_and_counts_them() -> None:
    dependents = [{"source_kind": "files", "source": "shop", "label": "app/Dockerfile:1",
                   "advice": "Rebuild `app/Dockerfile`: base `python:3.12-slim` moved."},
                  {"source_kind": "engine", "source": "host", "label": "web",
                   "advice": "Recreate container `host/web`: base `python:3.12-slim` moved."}]
    moved = Notice(event_id="e1", kind="digest_changed", image="python:3.12-slim",
                   time=datetime(2026, 12, 2, tzinfo=UTC), summary="moved",
                   payload={"dependents": dependents, "classes": ["patch"]},
                   details=("moved", dependents[0]["advice"], dependents[1]["advice"]))
    assert moved.classes == ["patch"]
    assert moved.dependent_labels() == ["shop/app/Dockerfile:1", "host/web"]
    text = Templates().render("email.txt", Batch.of([moved]))
    assert "  Rebuild `app/Dockerfile`: base `python:3.12-slim` moved." in text
    assert "To do: rebuild or recreate the 2 dependents of python:3.12-slim named above." in text
    body = Templates().render("body.txt", Batch.of([moved]))
    assert "Recreate container `host/web`" in body
