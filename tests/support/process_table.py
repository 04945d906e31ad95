"""What ``/proc`` tells about live processes: a process's children, whether one lives, which one holds a
TCP connection (the ingress worker processes behind one port)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import httpx

__all__ = ["alive", "answering_pid", "child_pids", "established_connections"]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid``, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return state, int(ppid)


def alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting to be reaped does not)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def child_pids(parent: int) -> set[int]:
    """The live children of ``parent``."""
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == parent and stat[0] != "Z":
                children.add(int(entry.name))
    return children


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _established(port: int) -> list[tuple[int, str]]:
    """(remote port, inode) of each established TCP connection whose local port is ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    found.append((int(fields[2].rsplit(":", 1)[1], 16), fields[9]))
    return found


def established_connections(pid: int, port: int) -> int:
    """How many established TCP connections to ``port`` process ``pid`` holds."""
    inodes = _socket_inodes(pid)
    return sum(1 for _remote, inode in _established(port) if inode in inodes)


def answering_pid(port: int, pids: Iterable[int]) -> int | None:
    """Which of ``pids`` answers a fresh connection's ``GET /readyz`` on 127.0.0.1:``port`` with 200 (None when
    none of them holds the connection, or it was not ready)."""
    with httpx.Client(timeout=10) as http:
        try:
            response = http.get(f"http://127.0.0.1:{port}/readyz")
        except httpx.HTTPError:  # a worker still starting holds the connection in its socket's backlog
            return None
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        if response.status_code != 200:
            return None
        inodes = {inode for remote, inode in _established(port) if remote == client_port}
        return next((pid for pid in pids if inodes & _socket_inodes(pid)), None)
