"""``advise --write`` on real files: atomic, the mode kept, refused when the file changed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from watcher.core.rewrite import Edit, rewrite
from watcher.errors import RewriteError
from watcher.service.advice import FileRewrite, write_rewrite

OLD, NEW = "python:3.12.7-slim", "python:3.12.8-slim"


def planned(path: Path) -> FileRewrite:
    before = path.read_bytes().decode()
    return FileRewrite(path.name, path, before, rewrite(before, [Edit(1, OLD, NEW)]))


def test_a_file_is_replaced_with_its_mode_and_nothing_left_beside_it(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_bytes(f"FROM {OLD}\r\nRUN true\r\n".encode())
    dockerfile.chmod(0o751)
    plan = planned(dockerfile)
    assert plan.diff.splitlines()[-3:] == [f"-FROM {OLD}", f"+FROM {NEW}", " RUN true"]
    write_rewrite(plan)
    assert dockerfile.read_bytes() == f"FROM {NEW}\r\nRUN true\r\n".encode()
    assert stat.S_IMODE(dockerfile.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["Dockerfile"]


def test_a_file_changed_since_it_was_read_is_left_alone(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {OLD}\n")
    plan = planned(dockerfile)
    dockerfile.write_text(f"FROM {OLD}\nRUN edited\n")
    with pytest.raises(RewriteError, match="changed while it was being rewritten"):
        write_rewrite(plan)
    assert dockerfile.read_text() == f"FROM {OLD}\nRUN edited\n"


def test_a_file_gone_since_it_was_read_is_said_so(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {OLD}\n")
    plan = planned(dockerfile)
    dockerfile.unlink()
    with pytest.raises(RewriteError, match="cannot read"):
        write_rewrite(plan)
    assert list(tmp_path.iterdir()) == []
