"""The command channel: run a program (an argument list, never a shell) for each batch.

The batch goes to standard input as JSON (see :meth:`Batch.to_json`); the first notice's key
facts, the count, and every notice's dependents go in environment variables
(:func:`environment`). Exit 0 is delivered;
any other exit is retried, with the first lines of standard error; a command still running at
the timeout is killed with its whole process group and retried; a missing or non-executable
program fails for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence

from watcher.notify.errors import ChannelError
from watcher.notify.message import Batch
from watcher.notify.outcome import Outcome

STDERR_KEPT = 64 * 1024
STDERR_LINES = 5
DRAIN_AFTER_EXIT = 1.0  # seconds to collect what is left in the pipes once the program ended


def environment(batch: Batch) -> dict[str, str]:
    """The ``WATCHER_*`` variables a command gets (values of the first notice; the
    dependents, one a line, of every notice)."""
    first = batch.first
    return {
        "WATCHER_BATCH_ID": batch.id,
        "WATCHER_COUNT": str(len(batch)),
        "WATCHER_EVENT": first.kind,
        "WATCHER_EVENT_ID": first.event_id,
        "WATCHER_IMAGE": first.image,
        "WATCHER_TAG": first.text("tag") or "",
        "WATCHER_OLD_DIGEST": first.old_digest or "",
        "WATCHER_NEW_DIGEST": first.new_digest or "",
        "WATCHER_TIME": first.iso_time,
        "WATCHER_SUMMARY": first.summary,
        "WATCHER_CLASSES": ",".join(first.classes),
        "WATCHER_EXPLANATION": _json_or_empty(first.payload.get("explanation")),
        "WATCHER_DEPENDENTS": "\n".join(dict.fromkeys(
            label for notice in batch.notices for label in notice.dependent_labels())),
    }


def _json_or_empty(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False)


class CommandChannel:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str | None = None,
        timeout: float = 600.0,
        grouped: bool = True,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        if not argv or not argv[0]:
            raise ChannelError(name or "command", "argv is empty: give the program to run")
        self.argv = tuple(argv)
        self._name = name or f"command {os.path.basename(argv[0])}"
        self.timeout = timeout
        self._grouped = grouped
        self._env = dict(env or {})
        self.cwd = cwd

    @property
    def name(self) -> str:
        return self._name

    @property
    def grouped(self) -> bool:
        return self._grouped

    async def send(self, batch: Batch) -> Outcome:
        program = self.argv[0]
        stdin = json.dumps(batch.to_json(), ensure_ascii=False).encode() + b"\n"
        env = {**os.environ, **self._env, **environment(batch)}
        secrets = list(self._env.values())
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group, so a timeout kills every child
            )
        except FileNotFoundError:
            return Outcome.failed(f"{self._name}: {program!r} not found", secrets=secrets)
        except PermissionError:
            return Outcome.failed(f"{self._name}: {program!r} is not executable",
                                  secrets=secrets)
        except OSError as exc:
            return Outcome.failed(f"{self._name}: cannot run {program!r}: {exc}",
                                  secrets=secrets)

        stderr = bytearray()
        readers = [asyncio.create_task(_feed(process, stdin)),
                   asyncio.create_task(_collect(process, stderr))]
        try:
            try:
                code = await asyncio.wait_for(process.wait(), self.timeout)
            except TimeoutError:
                _kill_group(process.pid)
                await process.wait()
                return Outcome.retry(f"{self._name}: still running after {self.timeout:g}s; "
                                     f"killed it and its children{_lines(stderr)}",
                                     secrets=secrets)
            except asyncio.CancelledError:
                _kill_group(process.pid)
                await process.wait()  # SIGKILL: at once; reaps it so nothing is left behind
                raise
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*readers, return_exceptions=True),
                                       DRAIN_AFTER_EXIT)
        finally:
            for reader in readers:
                reader.cancel()
        if code == 0:
            return Outcome.delivered()
        if code < 0:
            return Outcome.retry(f"{self._name}: killed by signal {-code}{_lines(stderr)}",
                                 secrets=secrets)
        return Outcome.retry(f"{self._name}: exited with {code}{_lines(stderr)}",
                             secrets=secrets)


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(data)
        await process.stdin.drain()
    process.stdin.close()


async def _collect(process: asyncio.subprocess.Process, kept: bytearray) -> None:
    assert process.stderr is not None
    while chunk := await process.stderr.read(65536):
        if len(kept) < STDERR_KEPT:
            kept += chunk[: STDERR_KEPT - len(kept)]


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _lines(stderr: bytearray) -> str:
    lines = [line.strip() for line in bytes(stderr).decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line][:STDERR_LINES]
    return (": " + " | ".join(lines)) if lines else ""
