"""Typed access to TOML values: every error names the file and the dotted key.

Also durations (``90``, ``"15m"``) and secrets: every secret key ``X`` also accepts ``X_env``
(the name of an environment variable) and ``X_file`` (a path whose content, stripped, is the
secret; relative to the config file).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from watcher.config.paths import relative_to_config
from watcher.errors import ConfigError

_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d)?", re.ASCII)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h``, ``1.5d``, ``250ms`` -> seconds; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as '90s', '15m', '1h' or '1d'")
    return float(match["value"]) * _UNITS[match["unit"]]


def format_duration(seconds: float) -> str:
    """The largest whole unit: ``365d``, ``1h``, ``90s``."""
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


class Reader:
    """Reads one config file's values; ``key`` arguments are dotted (``registries[0].host``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = str(path) if path else None

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, key=key)

    def keys(self, table: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                dotted = f"{where}.{key}" if where else key
                raise self.error(dotted, f"unknown key{hint}")

    def unique(self, values: list[str], section: str, key: str) -> None:
        """Refuse a value listed twice in the array of tables ``section``."""
        seen: dict[str, int] = {}
        for index, value in enumerate(values):
            if value in seen:
                raise self.error(
                    f"{section}[{index}].{key}",
                    f"{value!r} is listed twice (also {section}[{seen[value]}])",
                )
            seen[value] = index

    def _get(self, table: Mapping[str, Any], key: str) -> Any:
        return table.get(key.rsplit(".", 1)[-1])

    def table(self, table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = self._get(table, key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), not {_kind(value)}")
        return value

    def array_of_tables(self, table: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = self._get(table, key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be an array of tables ([[{key}]])")
        return value

    def string(self, table: Mapping[str, Any], key: str) -> str | None:
        value = self._get(table, key)
        if value is not None and not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        return value

    def string_list(self, table: Mapping[str, Any], key: str) -> list[str] | None:
        value = self._get(table, key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return value

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = self._get(table, key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_kind(value)}")
        return value

    def positive_int(self, table: Mapping[str, Any], key: str, default: int, most: int) -> int:
        value = self.non_negative_int(table, key, default, most)
        if value == 0:
            raise self.error(key, "must be at least 1")
        return value

    def non_negative_int(
        self, table: Mapping[str, Any], key: str, default: int, most: int
    ) -> int:
        value = self._get(table, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(key, f"must be a whole number >= 0, not {value!r}")
        if value > most:
            raise self.error(key, f"must be at most {most:_}, not {value:_}".replace("_", ","))
        return value

    def duration(
        self, table: Mapping[str, Any], key: str, default: float, most: float
    ) -> float:
        value = self._get(table, key)
        if value is None:
            return default
        if isinstance(value, bool):
            raise self.error(key, "must be a duration such as 30 or '15m'")
        if isinstance(value, int | float):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise self.error(key, str(exc)) from None
        else:
            raise self.error(key, f"must be a duration such as 30 or '15m', not {_kind(value)}")
        if not math.isfinite(seconds):
            raise self.error(key, f"must be a duration such as 30 or '15m', not {value}")
        if seconds <= 0:
            raise self.error(key, "must be greater than zero")
        if seconds > most:
            raise self.error(key, f"must be at most {format_duration(most)}, not {value!r}")
        return seconds

    def secret(self, table: Mapping[str, Any], where: str, name: str) -> str | None:
        """``name``, ``name_env`` or ``name_file``: at most one of them."""
        given = [k for k in (name, f"{name}_env", f"{name}_file") if k in table]
        if len(given) > 1:
            raise self.error(f"{where}.{given[1]}", f"set only one of {', '.join(given)}")
        if not given:
            return None
        key = given[0]
        dotted = f"{where}.{key}"
        value = self.string(table, dotted)
        assert value is not None
        if key.endswith("_env"):
            if value not in os.environ:
                raise self.error(dotted, f"environment variable {value} is not set")
            return os.environ[value]
        if key.endswith("_file"):
            secret_path = relative_to_config(Path(self.path) if self.path else None, Path(value))
            try:
                return secret_path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise self.error(dotted, f"cannot read {secret_path}: {exc.strerror}") from exc
            except UnicodeDecodeError as exc:
                raise self.error(dotted, f"cannot read {secret_path}: not UTF-8 text") from exc
        return value


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
