"""Paths and URLs in the config file: a relative path is relative to the file's directory,
and a database URL is checked before anything tries to connect with it."""

from __future__ import annotations

from pathlib import Path

from watcher.errors import ConfigError


def relative_to_config(config_path: Path | None, value: Path) -> Path:
    """A path from the config file: ``~`` expanded, a relative one beside the file."""
    value = value.expanduser()
    if value.is_absolute() or config_path is None:
        return value
    return config_path.parent.absolute() / value


def database_url(url: str, *, key: str, path: Path | None = None) -> str:
    """Check a database URL; a relative SQLite path is made relative to the config ``path``.

    Errors name ``key`` (``watcher.database`` or ``--database``) and never show a password,
    even one that is not percent-encoded and so cannot be told from the host.
    """
    # SQLAlchemy's URL parser, imported here: reading a config file must not load SQLAlchemy
    # for commands that never open the database (``watcher tags``, ``watcher --version``).
    from sqlalchemy.engine import make_url

    where = str(path) if path else None
    try:
        parsed = make_url(url)
    except Exception as exc:  # ArgumentError, and ValueError for a port such as 'abc'
        raise ConfigError(
            f"{redact_url(url)!r} is not a database URL ({_url_problem(exc)}): expected e.g. "
            "sqlite:///watcher.db or postgresql+psycopg://user:password@host/dbname",
            path=where,
            key=key,
        ) from None
    if "@" in (parsed.host or "") or "@" in (parsed.username or ""):
        raise ConfigError(
            f"{redact_url(url)!r}: the user name or password holds an '@' that is not "
            "percent-encoded: write each '@' in them as %40 (and ':' as %3A, '/' as %2F)",
            path=where,
            key=key,
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ConfigError(
            f"{redact_url(url)!r}: port {parsed.port} is not between 1 and 65535",
            path=where,
            key=key,
        )
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and path is not None
        and database not in ("", ":memory:")
        and not database.startswith("file:")
        and not Path(database).is_absolute()
    ):
        resolved = relative_to_config(path, Path(database))
        return parsed.set(database=str(resolved)).render_as_string(hide_password=False)
    return url


def redact_url(url: str) -> str:
    """``url`` with everything between ``://`` and its last ``@`` hidden (the credentials)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def _url_problem(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("invalid literal for int()"):
        return "the port is not a number"
    return "it does not parse"
