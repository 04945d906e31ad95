"""Static consumer-group membership: a restarted collator takes its partitions back at once.

A worker killed with SIGKILL never leaves the Kafka consumer group; with dynamic membership its
partitions (and the requests on them not yet reserved) wait for its session to time out
(``BATCHGPT_COLLATOR_SESSION_TIMEOUT_S``) before anyone reads them again, even when the worker is
restarted a second later. With static membership (KIP-345, ``group.instance.id``) the restarted worker
rejoins under the dead one's instance id and the coordinator hands it the same partitions without a
rebalance or a wait.

Two live workers must never share an instance id (the broker fences the older one). The id is either set
(``BATCHGPT_COLLATOR_INSTANCE_ID``, e.g. a StatefulSet pod name) or made from the host name and a *slot*:
the lowest slot number whose lock file no live process on this host holds (``flock``, released by the
kernel when its holder dies, even by SIGKILL). So the workers of one host get slots 0, 1, … and a worker
restarted after a crash reuses the slot, hence the id, of the one that died.

A static member does not leave the group when it stops (the client skips the LeaveGroup request), which
would make a clean scale-down wait a session timeout too: :func:`leave_on_stop` makes a stopping worker
leave as a dynamic member would, so its partitions go to the others at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["InstanceClaim", "claim_instance", "instance_id_of", "leave_on_stop"]

logger = logging.getLogger(__name__)

MAX_SLOTS = 256
"""Collator workers of one group on one host (far more than its cores can run)."""


def instance_id_of(host: str, slot: int) -> str:
    """The group instance id of ``slot`` on ``host`` (Kafka allows up to 249 characters of ``[a-zA-Z0-9._-]``)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in host)[:200] or "host"
    return f"{safe}-{slot}"


@dataclass
class InstanceClaim:
    """An instance id, and the lock file that keeps it this process's while it lives (None: set explicitly)."""

    instance_id: str
    _lock: IO[bytes] | None = field(default=None, repr=False)

    def release(self) -> None:
        """Let another worker of this host take the slot (also done by the kernel when the process dies)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def claim_instance(directory: Path, *, explicit: str | None = None, host: str | None = None) -> InstanceClaim:
    """The instance id this worker joins the group with: ``explicit``, or the first free slot of this host."""
    if explicit:
        return InstanceClaim(explicit)
    directory.mkdir(parents=True, exist_ok=True)
    host = host or socket.gethostname()
    for slot in range(MAX_SLOTS):
        lock = (directory / f"slot-{slot}.lock").open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        os.set_inheritable(lock.fileno(), False)
        return InstanceClaim(instance_id_of(host, slot), lock)
    raise RuntimeError(f"all {MAX_SLOTS} collator slots of {directory} are held by live processes")


def leave_on_stop(consumer: Any) -> bool:
    """Make a faust consumer about to stop leave the group (as a dynamic member does) rather than linger.

    ``consumer`` is the faust app's consumer; its aiokafka consumer sends a LeaveGroup on close only when it has
    no instance id. False when the consumer is not (or no longer) running: nothing to leave.
    """
    thread = getattr(consumer, "_thread", None)
    client = getattr(thread, "_consumer", None)
    coordinator = getattr(client, "_coordinator", None)
    if coordinator is None or not hasattr(coordinator, "_group_instance_id"):
        return False
    coordinator._group_instance_id = None
    return True
