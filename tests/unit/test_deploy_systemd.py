"""deploy/systemd: the unit passes ``systemd-analyze verify``, stays hardened, reloads with
SIGHUP, and agrees with its example config and with watcher's command line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import missing_component
from tests.support.deployfiles import parse_unit, repo_root, watcher_command
from watcher.config import load_config

SYSTEMD = repo_root() / "deploy" / "systemd"
UNIT = SYSTEMD / "watcher.service"
MAX_EXPOSURE = 2.0  # systemd-analyze security: "OK" is below 4.0; keep it well below


def _service() -> dict[str, list[str]]:
    return parse_unit(UNIT.read_text())["Service"]


def _one(key: str) -> str:
    values = _service()[key]
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        missing_component("systemd-analyze is not installed (Debian package systemd)")
    assert path is not None
    return path


def _unit_with_commands_here(tmp_path: Path) -> Path:
    """A copy of the unit whose commands exist on this machine: the installed ``watcher``
    entry point for ExecStart, and any other absent absolute command replaced likewise, so
    that verify judges the unit, not where this machine keeps programs."""
    here = Path(sys.executable).parent / "watcher"
    assert here.exists(), here
    text = UNIT.read_text()
    for command in set(re.findall(r"^Exec\w+=[-@:+!]*(/\S+)", text, re.MULTILINE)):
        if command.endswith("/watcher") or not Path(command).exists():
            text = text.replace(command, str(here))
    copy = tmp_path / "watcher.service"
    copy.write_text(text)
    return copy


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    unit = _unit_with_commands_here(tmp_path)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_analyze_security_rates_it_hardened(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    unit = _unit_with_commands_here(tmp_path)
    result = subprocess.run([analyze, "security", "--offline=true", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r"Overall exposure level for watcher\.service: (\d+\.\d+)",
                      result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    assert float(match[1]) <= MAX_EXPOSURE, result.stdout


def test_hardening_keys_are_set() -> None:
    service = _service()
    expected = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": None, "UMask": "0077",
    }
    for key, value in expected.items():
        assert key in service, key
        assert service[key] == ([] if value is None else [value]), key


def test_reload_sends_sighup_to_the_main_process() -> None:
    assert _one("ExecReload") == "/bin/kill -HUP $MAINPID"


def test_execstart_is_a_watcher_run_the_cli_accepts() -> None:
    program, *args = _one("ExecStart").split()
    assert program.endswith("/watcher")
    command = watcher_command(args)
    assert command.name == "run"
    assert command.global_params["log_json"] is True
    assert command.params["config_path"] == Path("/etc/watcher/config.toml")


def test_the_stop_timeout_fits_in_systemds() -> None:
    command = watcher_command(_one("ExecStart").split()[1:])
    timeout_stop = _one("TimeoutStopSec")
    assert timeout_stop.endswith("s")
    assert float(timeout_stop[:-1]) > command.params["stop_timeout"] + 5


def test_the_state_directory_holds_the_configured_database() -> None:
    assert _one("StateDirectory") == "watcher"
    assert _one("WorkingDirectory") == "/var/lib/watcher"
    config = load_config(SYSTEMD / "config.toml")
    assert config.database == "sqlite:////var/lib/watcher/watcher.db"
    assert config.http is not None
    assert config.http.host == "127.0.0.1"
    assert config.instance == "watcher"


def test_the_user_is_the_one_sysusers_creates() -> None:
    user, group = _one("User"), _one("Group")
    entries = [line.split() for line in (SYSTEMD / "watcher.sysusers").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert [e[:2] for e in entries] == [["u", user]]
    assert entries[0][-1] == "/var/lib/watcher"
    assert group == user  # sysusers' "u" creates the group of the same name


def test_the_time_zone_is_explicit() -> None:
    assert "TZ=UTC" in _service()["Environment"]
