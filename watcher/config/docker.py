"""Registry credentials from the user's Docker ``config.json``, the way ``docker`` finds them.

Lookup for a host: ``credHelpers[host]`` runs ``docker-credential-NAME get``; else ``credsStore``
does (and, when it knows nothing, the ``auths`` entry still counts); else the ``auths`` entry:
base64 ``auth`` ("user:password"), ``username``/``password``, ``identitytoken`` (an OAuth2
refresh token) or ``registrytoken`` (a bearer token). The registry client never reads files:
callers pass what this returns in :class:`~watcher.registry.RegistrySettings`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from watcher.core.reference import DOCKER_HUB, canonical_host
from watcher.errors import ConfigError
from watcher.registry import Credentials

# The key under which ``docker login`` stores Docker Hub's credentials.
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
HELPER_TIMEOUT = 10.0


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    env = os.environ if env is None else env
    directory = env.get("DOCKER_CONFIG")
    return Path(directory) / "config.json" if directory else Path.home() / ".docker/config.json"


def normalize_host(server: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``http://host:5000/v2/`` → ``host:5000``."""
    text = server.strip()
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return canonical_host(text.split("/", 1)[0])


def credentials_for(
    host: str, path: Path | None = None, *, env: Mapping[str, str] | None = None
) -> Credentials | None:
    """Credentials for ``host`` (``ghcr.io``, ``docker.io``, ``127.0.0.1:5000``), or None."""
    path = path or default_config_path(env)
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read Docker config: {exc}", path=str(path)) from exc
    if not isinstance(config, dict):
        raise ConfigError("Docker config is not a JSON object", path=str(path))
    wanted = normalize_host(host)
    server = DOCKER_HUB_SERVER if wanted == DOCKER_HUB else wanted
    helpers = config.get("credHelpers") or {}
    helper = next((name for key, name in helpers.items() if normalize_host(key) == wanted), None)
    if helper:
        return run_helper(str(helper), server, path=path, env=env)
    found = None
    if config.get("credsStore"):
        found = run_helper(str(config["credsStore"]), server, path=path, env=env)
    if found is None:
        for key, entry in (config.get("auths") or {}).items():
            if normalize_host(key) == wanted and isinstance(entry, dict):
                found = _from_auths_entry(entry, path, key)
                if found is not None:
                    break
    return found


def _from_auths_entry(entry: Mapping[str, Any], path: Path, key: str) -> Credentials | None:
    username = entry.get("username") or None
    password = entry.get("password")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigError("'auth' is not base64 of 'user:password'", path=str(path),
                              key=f"auths.{key}.auth") from exc
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ConfigError("'auth' does not decode to 'user:password'", path=str(path),
                              key=f"auths.{key}.auth")
    if entry.get("registrytoken"):
        return Credentials(token=str(entry["registrytoken"]))
    if entry.get("identitytoken"):
        return Credentials(username=username or None, identity_token=str(entry["identitytoken"]))
    if username:
        return Credentials(username=str(username), password=str(password or ""))
    return None


def run_helper(
    name: str, server: str, *, path: Path | None = None, env: Mapping[str, str] | None = None,
    timeout: float = HELPER_TIMEOUT,
) -> Credentials | None:
    """Ask ``docker-credential-NAME get`` about ``server``; None when it knows nothing.

    The helper runs in a process group of its own: one that does not answer within
    ``timeout`` is killed with every process it started. Nothing the helper prints is ever
    repeated in a message (it may hold a secret): a failure says the program and exit status.
    """
    program = f"docker-credential-{name}"
    where = str(path) if path else None
    try:
        process = subprocess.Popen(
            [program, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ConfigError(f"credential helper {program} is not on PATH (credHelpers or "
                          "credsStore names it)", path=where) from exc
    except OSError as exc:  # not executable, not a program, ...
        raise ConfigError(f"credential helper {program} cannot run: {exc.strerror or exc}",
                          path=where) from exc
    try:
        stdout, _ = process.communicate(server.encode(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(process)
        raise ConfigError(f"credential helper {program} did not answer in {timeout:g}s; "
                          "it was stopped", path=where) from exc
    except BaseException:
        _kill_group(process)
        raise
    output = stdout.decode(errors="replace").strip()
    if process.returncode != 0:
        # Docker's helpers say "credentials not found" on stdout when they know nothing.
        if "credentials not found" in output.lower():
            return None
        raise ConfigError(f"credential helper {program} failed (exit {process.returncode})",
                          path=where)
    try:
        answer = json.loads(output)
        username, secret = answer.get("Username") or "", answer["Secret"]
    except (ValueError, KeyError, AttributeError, RecursionError) as exc:
        raise ConfigError(f"credential helper {program} gave an unreadable answer",
                          path=where) from exc
    if not secret:
        return None
    if username == "<token>":
        return Credentials(identity_token=str(secret))
    return Credentials(username=str(username), password=str(secret))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the helper and everything it started (its own process group), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.kill()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    process.wait()


def docker_credentials(host: str, path: Path | None = None) -> Credentials | None:
    """Credentials for ``host`` from Docker's config (``path``, else the default location)."""
    return credentials_for(host, path)
