"""Saying, in one line, which process holds the embedded store.

DuckDB lets one process open a database file for writing and locks the file
(``fcntl``) while it is open, so a second ``monitorx serve`` on the same data
directory, or ``monitorx import`` while the quickstart runs, fails to open it.
That lock is the one source of truth: the kernel drops it when its process ends,
however it ends, so there is no pid file of our own to go stale or to disagree
with it, and it also catches holders that are not MonitorX (the ``duckdb`` shell,
a notebook). DuckDB's error names the holder's PID; this module turns that error
into advice, adding the holder's command line where ``/proc`` shows it.
"""

from __future__ import annotations

__all__ = ["check_store_free", "embedded_store", "store_in_use"]

import os
import re
from pathlib import Path

from monitorx.core import StorageError

# DuckDB: 'Could not set lock on file "/x/monitorx.duckdb": Conflicting lock is
# held in /usr/bin/python3.11 (PID 4242)' (the PID is absent on some platforms).
_LOCK_ERROR = re.compile(r'Could not set lock on file "(?P<path>[^"]+)"')
_HOLDER_PID = re.compile(r"\(PID (?P<pid>\d+)\)")
COMMAND_MAX_CHARS = 120


def store_in_use(exc: BaseException) -> str | None:
    """One line of advice when ``exc`` (or an exception it was raised from) is
    DuckDB refusing a file that another process holds; None otherwise."""
    seen: BaseException | None = exc
    while seen is not None:
        match = _LOCK_ERROR.search(str(seen))
        if match:
            pid = _HOLDER_PID.search(str(seen))
            return _advice(match["path"], int(pid["pid"]) if pid else None)
        seen = seen.__cause__ or seen.__context__
    return None


def embedded_store(url: str) -> Path | None:
    """The DuckDB file a storage URL names (``duckdb:///data/monitorx.duckdb``); None
    for the other stores and ``duckdb:///:memory:``."""
    scheme, _, rest = url.partition("://")
    path = rest[1:] if rest.startswith("/") else rest
    return Path(path) if scheme == "duckdb" and path != ":memory:" else None


def check_store_free(db: Path) -> None:
    """Raise ``StorageError`` with :func:`store_in_use`'s advice when another process
    holds the DuckDB file ``db``; return at once when it is free or absent.

    The test takes and drops the same lock DuckDB takes (an exclusive ``fcntl``
    lock), so it opens nothing; only when the file is held does DuckDB itself get
    asked, because its error names the holder."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: opening the store will tell
        return
    try:
        fd = os.open(db, os.O_RDWR)
    except OSError:  # absent, or not ours to write: opening the store will say so
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except OSError:
        pass
    finally:
        os.close(fd)  # also drops the lock just taken
    import duckdb

    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.Error as exc:
        advice = store_in_use(exc)
        if advice is not None:
            raise StorageError(advice) from None
    # A reader holds it: DuckDB's error when the store is opened names it.


def _advice(path: str, pid: int | None) -> str:
    holder = "another process"
    if pid is not None:
        command = _command_line(pid)
        holder = f"process {pid}" + (f" ({command})" if command else "")
    return (
        f"{path} is in use by {holder}: the embedded store can be opened by one process "
        "at a time. Stop that process (Ctrl-C where scripts/quickstart or `monitorx serve` "
        "runs) or use another --data-dir."
    )


def _command_line(pid: int) -> str | None:
    """The command ``pid`` runs, shortened (``monitorx serve --port 8000 …``), where
    ``/proc`` shows it."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    if not args:
        return None
    # `python -m monitorx serve` and the `monitorx` script read as `monitorx serve`.
    if len(args) > 2 and args[1] == "-m":
        args = [args[2], *args[3:]]
    else:
        args[0] = Path(args[0]).name
        if len(args) > 1 and Path(args[1]).name == "monitorx" and args[0].startswith("python"):
            args = ["monitorx", *args[2:]]
    command = " ".join(args)
    if len(command) > COMMAND_MAX_CHARS:
        command = command[: COMMAND_MAX_CHARS - 1] + "…"
    return command
