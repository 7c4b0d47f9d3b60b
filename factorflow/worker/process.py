"""Running workers as processes: ``factorflow worker [--processes N]``.

Each process builds its own services (engine, registries) and runs one
:class:`~factorflow.worker.Worker`. SIGTERM or SIGINT stops it gracefully: the
threads finish the delivery in hand and exit. A process killed outright leaves its
jobs to the lease.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from types import FrameType

from factorflow.settings import Settings

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, *, threads: int | None = None, parent_pid: int | None = None
) -> None:
    """Deliver jobs in this process until SIGTERM or SIGINT, or until the process
    ``parent_pid`` is gone (a child of ``run_worker_processes`` whose parent was
    killed must not keep delivering unsupervised)."""
    from factorflow.bootstrap import build_services
    from factorflow.worker import Worker

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
        )
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    services = build_services(settings, migrate=False)
    services.nodes.register(services.sessions)
    worker = Worker(services, threads=threads)
    worker.start()
    log.info("worker %s started with %d threads", worker.name, worker.threads)
    try:
        while not stop.wait(0.5):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("worker %s: parent process %s is gone", worker.name, parent_pid)
                break
    finally:
        worker.stop()
        services.close()
        log.info("worker %s stopped", worker.name)


def _child(threads: int | None, parent_pid: int) -> None:
    # Settings come from the environment the parent set up (FACTORFLOW_*).
    run_worker(Settings(), threads=threads, parent_pid=parent_pid)


def run_worker_processes(processes: int, *, threads: int | None = None) -> int:
    """Run ``processes`` worker processes until SIGTERM/SIGINT, which is passed on to
    them. Returns the number of children that exited with an error."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_child, args=(threads, os.getpid()), name=f"factorflow-worker-{n}")
        for n in range(processes)
    ]
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    for child in children:
        child.start()
    while not stop.wait(0.5):
        if all(not child.is_alive() for child in children):
            break
    for child in children:
        if child.is_alive():
            child.terminate()  # SIGTERM: a graceful stop in the child
    for child in children:
        child.join()
    return sum(1 for child in children if child.exitcode not in (0, -signal.SIGTERM))
