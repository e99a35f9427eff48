"""``[[registries]]`` TLS and proxy keys: files read at load, so a bad one fails at start with
the file and key named; relative paths beside the config file; settings that contradict each
other refused."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.tls import TestCA
from watcher.config import load_config, registry_warnings
from watcher.errors import ConfigError
from watcher.service.registries import registry_settings


def _load(tmp_path: Path, entry: str, host: str = "registry.corp:5000") -> object:
    path = tmp_path / "watcher.toml"
    path.write_text(f'[[registries]]\nhost = "{host}"\n{entry}\n')
    return load_config(path)


def _error(tmp_path: Path, entry: str, host: str = "registry.corp:5000") -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, entry, host)
    return str(caught.value)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    ca = TestCA()
    client = ca.issue(tmp_path, "client", client=True)
    other = TestCA("other").issue(tmp_path, "other", client=True)
    return {"ca": ca.write(tmp_path / "ca.pem"), "cert": client.cert, "key": client.key,
            "other_key": other.key}


def test_tls_files_load_relative_to_the_config_file(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    config = _load(tmp_path, 'ca_file = "ca.pem"\nclient_cert = "client.pem"\n'
                             'client_key = "client-key.pem"')
    (registry,) = config.registries  # type: ignore[attr-defined]
    assert registry.tls.ca_file == str(files["ca"])
    assert registry.tls.client_cert == str(files["cert"])
    assert registry.tls.context.verify_mode is ssl.CERT_REQUIRED
    assert registry.insecure is False
    settings, _ = registry_settings(config)  # type: ignore[arg-type]
    assert settings["registry.corp:5000"].tls is registry.tls
    assert registry_warnings(config.registries) == []  # type: ignore[attr-defined]


def test_a_loopback_registry_with_tls_settings_speaks_https(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    config = _load(tmp_path, 'ca_file = "ca.pem"', host="127.0.0.1:5000")
    (registry,) = config.registries  # type: ignore[attr-defined]
    assert registry.insecure is False
    settings, _ = registry_settings(config)  # type: ignore[arg-type]
    assert settings["127.0.0.1:5000"].scheme("127.0.0.1:5000") == "https"


def test_tls_verify_false_is_warned(tmp_path: Path) -> None:
    config = _load(tmp_path, "tls_verify = false")
    (registry,) = config.registries  # type: ignore[attr-defined]
    assert registry.tls.context.verify_mode is ssl.CERT_NONE
    assert registry_warnings(config.registries) == [  # type: ignore[attr-defined]
        "registry registry.corp:5000: TLS certificates are not verified (tls_verify = false)"
    ]


def test_a_missing_ca_file_names_file_and_key(tmp_path: Path) -> None:
    message = _error(tmp_path, 'ca_file = "nowhere.pem"')
    assert message.startswith(f"{tmp_path / 'watcher.toml'}: registries[0].ca_file: ")
    assert f"cannot read {tmp_path / 'nowhere.pem'}" in message


def test_a_ca_file_that_is_not_pem(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    message = _error(tmp_path, 'ca_file = "ca.pem"')
    assert "registries[0].ca_file: " in message
    assert f"{tmp_path / 'ca.pem'}" in message


def test_a_ca_file_with_a_leaf_certificate_only(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    message = _error(tmp_path, f'ca_file = "{files["cert"]}"')
    assert "registries[0].ca_file: " in message
    assert "holds no CA certificate" in message


def test_client_certificate_problems_name_their_key(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    assert "registries[0].client_key: is set but client_cert is not" in _error(
        tmp_path, 'client_key = "client-key.pem"')
    message = _error(tmp_path, 'client_cert = "ca-missing.pem"')
    assert "registries[0].client_cert: cannot read" in message
    message = _error(tmp_path, 'client_cert = "client-key.pem"')
    assert "registries[0].client_cert: " in message
    assert "holds no PEM certificate" in message
    message = _error(tmp_path, 'client_cert = "client.pem"')
    assert "registries[0].client_cert: " in message
    assert "give it as client_key" in message
    message = _error(tmp_path, f'client_cert = "client.pem"\nclient_key = "{files["other_key"]}"')
    assert "registries[0].client_key: " in message
    assert "does not belong to the certificate" in message


def test_an_encrypted_key_is_refused_without_a_prompt(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "locked.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ))
    message = _error(tmp_path, 'client_cert = "client.pem"\nclient_key = "locked.pem"')
    assert "registries[0].client_key: " in message
    assert "encrypted" in message


@pytest.mark.parametrize(
    ("entry", "key", "words"),
    [
        ('insecure = true\nca_file = "ca.pem"', "ca_file", "applies to HTTPS only"),
        ('insecure = true\ntls_verify = false', "tls_verify", "applies to HTTPS only"),
        ('ca_file = "ca.pem"\ntls_verify = false', "tls_verify", "set either ca_file"),
        ('tls_verify = "no"', "tls_verify", "must be true or false"),
        ('ca_file = ""', "ca_file", "is empty"),
        ('proxy = "socks5://proxy:1080"', "proxy", "only http:// and https://"),
        ('proxy = "http://proxy:0"', "proxy", "is not a proxy URL"),
    ],
)
def test_contradictions_and_bad_values(
    tmp_path: Path, files: dict[str, Path], entry: str, key: str, words: str
) -> None:
    message = _error(tmp_path, entry)
    assert f"registries[0].{key}: " in message
    assert words in message


def test_a_proxy_keeps_its_credentials_out_of_errors_and_reprs(tmp_path: Path) -> None:
    message = _error(tmp_path, 'proxy = "gopher://squid:hunter2@proxy:3128"')
    assert "hunter2" not in message
    config = _load(tmp_path, 'proxy = "squid:hunter2@proxy.corp:3128"')
    (registry,) = config.registries  # type: ignore[attr-defined]
    assert registry.proxy == "http://squid:hunter2@proxy.corp:3128"
    assert "hunter2" not in repr(config)
    settings, _ = registry_settings(config)  # type: ignore[arg-type]
    assert settings["registry.corp:5000"].proxy == registry.proxy
    assert "hunter2" not in repr(settings)


def test_a_ca_file_holding_a_ca_the_default_bundle_has_is_accepted(tmp_path: Path) -> None:
    import certifi

    first = certifi.contents().split("-----END CERTIFICATE-----")[0]
    (tmp_path / "public.pem").write_text(first + "-----END CERTIFICATE-----\n")
    config = _load(tmp_path, 'ca_file = "public.pem"')
    (registry,) = config.registries  # type: ignore[attr-defined]
    assert registry.tls.ca_file == str(tmp_path / "public.pem")
