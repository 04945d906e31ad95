"""A worker process that ends when its parent dies, so that a SIGKILLed ingress parent leaves no orphan serving.

On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` (through ctypes) sends the worker SIGTERM the
moment the parent dies, and the worker drains (its held calls answered with a retryable 504) and exits, as on
any SIGTERM. The signal is tied to the thread that forked the worker: the parent is single-threaded (it never
starts a thread), so that thread is the parent. A parent that died between the fork and the ``prctl`` is
caught by comparing the parent pid afterwards. Elsewhere (no ``prctl``) nothing is armed: the workers of a
killed parent run on until stopped.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["end_with_parent"]

_PR_SET_PDEATHSIG = 1
"""``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``."""


def end_with_parent(parent_pid: int, signum: signal.Signals = signal.SIGTERM) -> None:
    """Have ``signum`` sent to this process when the process ``parent_pid`` (its parent) dies."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    if os.getppid() != parent_pid:  # the parent died before the prctl: nobody will send the signal
        os.kill(os.getpid(), signum)
