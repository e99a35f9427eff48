"""``watcher healthcheck``: ask a running daemon's ``/healthz``; exit 0 when it is healthy.

For container health checks (``HEALTHCHECK CMD watcher healthcheck``) and scripts: it reads
the config only to find ``[http] listen`` (a wildcard address is asked on loopback), imports
no HTTP library beyond the standard one, and answers within ``--timeout``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import click

from watcher.cli.common import EXIT_PROBLEM, EXIT_USAGE, config_option, fail, handle_errors
from watcher.config import load_config

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def _url_from_config(config_path: Path) -> str:
    config = load_config(config_path)
    if config.http is None:
        fail(f"{config_path}: [http] listen is not set, so there is no /healthz to ask "
             "(or give --url)", EXIT_USAGE)
    host = _WILDCARDS.get(config.http.host, config.http.host)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.http.port}/healthz"


@click.command()
@config_option
@click.option("--url", metavar="URL",
              help="The /healthz URL to ask [default: from [http] listen in the config].")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=5.0, show_default=True,
              help="Seconds to wait for the answer.")
@handle_errors
def healthcheck(config_path: Path, url: str | None, timeout: float) -> None:
    """Exit 0 when the daemon's /healthz says it is healthy, 1 when not or unreachable."""
    url = url or _url_from_config(config_path)
    if not url.startswith(("http://", "https://")):
        fail(f"--url {url!r}: not an http:// or https:// URL", EXIT_USAGE)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(65536)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        fail(f"{url}: no answer ({reason})", EXIT_PROBLEM)
    try:
        document = json.loads(body)
    except ValueError:
        document = {}
    if status != 200:
        why = document.get("reason") or f"HTTP {status}"
        fail(f"{url}: unhealthy: {why}", EXIT_PROBLEM)
    click.echo(f"healthy: {document.get('instance', '?')} (watcher {document.get('version', '?')})")
