"""``[http] auth_token_env``: the name of an environment variable holding the token that the
page and the API ask for (``Authorization: Bearer TOKEN``, or basic auth with TOKEN as the
password). Kept apart so the ``[http]`` table's reader can call it for this one key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from watcher.config.reader import Reader

AUTH_KEYS = ("auth_token_env",)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_auth_token(
    reader: Reader, http: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """The token named by ``[http] auth_token_env``; None when the key is not set.

    A named variable that is unset or empty is an error: a page meant to be protected must
    never come up open.
    """
    name = reader.string(http, "http.auth_token_env")
    if name is None:
        return None
    if not _ENV_NAME.fullmatch(name):
        raise reader.error("http.auth_token_env",
                           f"{name!r} is not an environment variable name")
    value = (os.environ if environ is None else environ).get(name, "")
    if not value.strip():
        raise reader.error("http.auth_token_env",
                           f"the environment variable {name} is not set or empty; set it to "
                           "the token the status page and API must ask for")
    return value.strip()
