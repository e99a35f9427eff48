"""``watcher check`` against registries on HTTPS with a CA made by the tests: a private CA
(``ca_file``), mutual TLS, ``tls_verify = false``, an ``http`` token realm of an ``https``
registry, and proxies (``HTTPS_PROXY``/``NO_PROXY``, or a registry's own ``proxy``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import Result, run
from tests.support.connectproxy import ConnectProxy
from tests.support.registry import PASSWORD, USERNAME, RunningRegistry
from tests.support.tls import TestCA

pytestmark = pytest.mark.registry


@pytest.fixture(autouse=True)
def _unroute_logging() -> Iterator[None]:
    """Leave no handler bound to this test's captured standard error behind."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "watcher"]:
        root.removeHandler(handler)
    logging.getLogger("watcher").setLevel(logging.NOTSET)


def _config(tmp_path: Path, host: str, refs: list[str], **registry: Any) -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{tmp_path / "watcher.db"}"', "",
             "[[registries]]", f'host = "{host}"', 'timeout = "5s"']
    registry.setdefault("retries", 0)
    lines += [f"{key} = {json.dumps(value)}" for key, value in registry.items()]
    for ref in refs:
        lines += ["", "[[images]]", f'ref = "{ref}"', "list_tags = false"]
    path = tmp_path / "watcher.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _proxy_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Exactly these proxy variables, whatever the environment the tests run in has."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def _check(config: Path) -> tuple[Result, dict[str, Any]]:
    result = run("check", "--config", str(config), "--json")
    (image,) = result.json["images"]
    return result, image


def test_an_unknown_ca_fails_naming_ca_file_and_ca_file_makes_it_work(
    registry_tls: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    assert registry_tls.tls is not None
    digest = registry_tls.push.push_image(repository, "1")
    ref = str(registry_tls.ref(repository, "1"))

    # A loopback host speaks plain HTTP by default: the answer says what to do.
    result, image = _check(_config(tmp_path, registry_tls.host, [ref]))
    assert result.exit_code == 1
    assert "the registry speaks HTTPS: set insecure = false" in image["error"]

    result, image = _check(_config(tmp_path, registry_tls.host, [ref], insecure=False))
    assert result.exit_code == 1
    assert image["state"] == "error"
    assert "TLS certificate verify failed" in image["error"]
    assert "set ca_file in its [[registries]] entry" in image["error"]

    # Another CA than the one that signed the registry: the message names that file.
    other = TestCA("another CA").write(tmp_path / "other-ca.pem")
    result, image = _check(_config(tmp_path, registry_tls.host, [ref], ca_file="other-ca.pem"))
    assert result.exit_code == 1
    assert f"the CA in ca_file ({other})" in image["error"]

    # The right CA, relative to the config file.
    (tmp_path / "ca.pem").write_bytes(registry_tls.tls.ca.read_bytes())
    result, image = _check(_config(tmp_path, registry_tls.host, [ref], ca_file="ca.pem"))
    assert result.exit_code == 0, result.stdout
    assert image["state"] == "baseline"
    assert image["digest"] == digest


def test_mutual_tls_needs_the_client_certificate(
    registry_mtls: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    tls = registry_mtls.tls
    assert tls is not None
    digest = registry_mtls.push.push_image(repository, "1")
    ref = str(registry_mtls.ref(repository, "1"))

    result, image = _check(_config(tmp_path, registry_mtls.host, [ref], ca_file=str(tls.ca)))
    assert result.exit_code == 1
    assert "asks for a client certificate" in image["error"]
    assert "client_cert and client_key" in image["error"]

    # A certificate from a CA the registry does not know is refused, and named.
    stranger = TestCA("a stranger").issue(tmp_path, "stranger", client=True)
    result, image = _check(_config(
        tmp_path, registry_mtls.host, [ref], ca_file=str(tls.ca),
        client_cert=str(stranger.cert), client_key=str(stranger.key),
    ))
    assert result.exit_code == 1
    assert f"refused the client certificate in client_cert ({stranger.cert})" in image["error"]

    result, image = _check(_config(
        tmp_path, registry_mtls.host, [ref], ca_file=str(tls.ca),
        client_cert=str(tls.client.cert), client_key=str(tls.client.key),
    ))
    assert result.exit_code == 0, image
    assert image["digest"] == digest


def test_tls_verify_false_works_and_warns_in_the_log_and_in_status(
    registry_tls: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    digest = registry_tls.push.push_image(repository, "1")
    refs = [str(registry_tls.ref(repository, "1")), str(registry_tls.ref(repository, "2"))]
    registry_tls.push.push_image(repository, "2")
    config = _config(tmp_path, registry_tls.host, refs, tls_verify=False)

    # `watcher check` logs errors only unless told otherwise; the daemon logs warnings.
    result = run("--log-level", "warning", "check", "--config", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    assert {i["ref"]: i["digest"] for i in result.json["images"]}[refs[0]] == digest
    warnings = [line for line in result.stderr.splitlines() if "tls_verify = false" in line]
    assert len(warnings) == 1, result.stderr  # once per registry, not per image
    assert registry_tls.host in warnings[0]

    text = run("status", "--config", str(config))
    assert (f"warning: registry {registry_tls.host}: TLS certificates are not verified "
            "(tls_verify = false)") in text.stdout
    document = run("status", "--config", str(config), "--json").json
    assert document["warnings"] == [
        f"registry {registry_tls.host}: TLS certificates are not verified (tls_verify = false)"
    ]


def test_credentials_never_go_to_an_http_token_realm_of_an_https_registry(
    registry_tls_token: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    tokens = registry_tls_token.token_server
    assert tokens is not None
    assert registry_tls_token.tls is not None
    registry_tls_token.push.push_image(repository, "1")
    ref = str(registry_tls_token.ref(repository, "1"))
    tokens.reset_count()
    config = _config(tmp_path, registry_tls_token.host, [ref],
                     ca_file=str(registry_tls_token.tls.ca), username=USERNAME,
                     password=PASSWORD)

    result, image = _check(config)
    assert result.exit_code == 1
    assert tokens.requests == 0  # nothing, least of all the password, went to the realm
    assert f"refusing to send credentials over plain HTTP to the token realm " \
           f"'{tokens.realm}'" in image["error"]
    assert PASSWORD not in result.stdout + result.stderr


def test_https_proxy_is_used_and_no_proxy_bypasses_it(
    registry_tls: RunningRegistry, repository: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert registry_tls.tls is not None
    digest = registry_tls.push.push_image(repository, "1")
    # 0.0.0.0 reaches the loopback registry, and is not a loopback name: proxies apply.
    host = f"0.0.0.0:{registry_tls.port}"
    config = _config(tmp_path, host, [f"{host}/{repository}:1"],
                     ca_file=str(registry_tls.tls.ca))
    with ConnectProxy() as proxy:
        _proxy_environment(monkeypatch, HTTPS_PROXY=proxy.url, NO_PROXY="example.com")
        result, image = _check(config)
        assert result.exit_code == 0, image
        assert image["digest"] == digest
        assert proxy.connections >= 1
        assert set(proxy.targets) == {host}

        monkeypatch.setenv("NO_PROXY", "example.com,0.0.0.0")
        before = proxy.connections
        result, image = _check(config)
        assert result.exit_code == 0, image
        assert proxy.connections == before  # went direct

        # A loopback registry never goes through a proxy from the environment.
        monkeypatch.delenv("NO_PROXY")
        loopback = _config(tmp_path, registry_tls.host, [str(registry_tls.ref(repository, "1"))],
                           ca_file=str(registry_tls.tls.ca))
        result, image = _check(loopback)
        assert result.exit_code == 0, image
        assert proxy.connections == before


def test_a_registry_proxy_with_credentials_is_used_and_never_shown(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    digest = registry_open.push.push_image(repository, "1")
    ref = str(registry_open.ref(repository, "1"))
    with ConnectProxy(credentials=("squid", "s3cret-proxy")) as proxy:
        url = proxy.url.replace("http://", "http://squid:s3cret-proxy@")
        result, image = _check(_config(tmp_path, registry_open.host, [ref], proxy=url))
        assert result.exit_code == 0, (image["error"], proxy.authorizations)
        assert image["digest"] == digest
        assert proxy.targets
        assert set(proxy.targets) == {registry_open.host}

        wrong = proxy.url.replace("http://", "http://squid:wrong-password@")
        result, image = _check(_config(tmp_path, registry_open.host, [ref], proxy=wrong))
        assert result.exit_code == 1
        assert f"cannot connect through proxy http://***@127.0.0.1:{proxy.port}" \
            in image["error"], image["error"]
        assert "407 Proxy Authentication Required" in image["error"]
        assert "wrong-password" not in result.stdout + result.stderr


def test_a_proxy_refusing_a_tunnel_is_named_without_its_credentials(
    registry_tls: RunningRegistry, repository: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert registry_tls.tls is not None
    registry_tls.push.push_image(repository, "1")
    host = f"0.0.0.0:{registry_tls.port}"
    config = _config(tmp_path, host, [f"{host}/{repository}:1"],
                     ca_file=str(registry_tls.tls.ca), retries=2)
    with ConnectProxy(credentials=("squid", "right")) as proxy:
        _proxy_environment(monkeypatch,
                           HTTPS_PROXY=proxy.url.replace("http://", "http://squid:wrong@"))
        result, image = _check(config)
        assert result.exit_code == 1
        assert f"cannot connect through proxy http://***@127.0.0.1:{proxy.port}" \
            in image["error"], image["error"]
        assert "407 Proxy Authentication Required" in image["error"]
        assert "attempts" not in image["error"]  # the same answer again: not retried
        assert "wrong" not in image["error"]
        assert len(proxy.authorizations) == 1  # asked once, with the URL's credentials


def test_http_proxy_carries_plain_http_to_an_insecure_registry(
    registry_open: RunningRegistry, repository: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = registry_open.push.push_image(repository, "1")
    host = f"0.0.0.0:{registry_open.port}"
    config = _config(tmp_path, host, [f"{host}/{repository}:1"], insecure=True)
    with ConnectProxy() as proxy:
        _proxy_environment(monkeypatch, http_proxy=f"127.0.0.1:{proxy.port}",
                           HTTPS_PROXY="http://127.0.0.1:9")  # not for http:// URLs
        result, image = _check(config)
        assert result.exit_code == 0, image["error"]
        assert image["digest"] == digest
        assert set(proxy.targets) == {host}
