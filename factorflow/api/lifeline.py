"""Worker processes end with the process that started them.

``factorflow serve --workers N`` runs uvicorn's supervisor, which starts N worker
processes that share the listening socket. If the supervisor is killed outright
(SIGKILL, the OOM killer), nothing tells the workers: they would go on serving and
hold the port, so that a restart fails with "address already in use". Each worker
therefore asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG`` on
Linux; SIGTERM lets uvicorn finish the requests in flight), and where that call does
not exist, a daemon thread watches the parent's pid instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 1.0


def _parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` when the parent exits; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    return bool(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)


def _watch_parent(parent_pid: int) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def die_with_parent() -> bool:
    """In a worker process started by a supervisor (multiprocessing), end this process
    with its parent. Returns whether a lifeline was set; in a process of its own (a
    single-process ``serve``, the tests) it does nothing: that process may outlive the
    shell that started it."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return False
    if not _parent_death_signal(signal.SIGTERM):
        _watch_parent(parent.pid)
    # The parent may have died before the lifeline was in place.
    if os.getppid() != parent.pid:
        os.kill(os.getpid(), signal.SIGTERM)
    return True
