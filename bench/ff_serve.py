"""Start Factorflow's ASGI app exactly as ``factorflow serve`` does (same uvicorn
settings and hashing threads per worker), plus a long worker health-check timeout.

Why: uvicorn's supervisor (0.54) kills a worker that has not answered its health check
within 5 s, and on a loaded 2-core machine importing and building the app takes longer
than that, so ``factorflow serve --workers 2`` restarted its workers forever.
Usage: ``python -m bench.ff_serve PORT WORKERS``.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from factorflow.crypto import hashing_threads_per_worker


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    if workers > 1 and not os.environ.get("FACTORFLOW_ARGON2_THREADS"):
        # As ``factorflow serve`` does: each worker its share of the CPUs for hashing.
        os.environ["FACTORFLOW_ARGON2_THREADS"] = str(hashing_threads_per_worker(workers))
    print(f"Factorflow listening on http://127.0.0.1:{port}/", flush=True)
    uvicorn.run(
        "factorflow.api.asgi:create",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
        timeout_worker_healthcheck=120,
    )


if __name__ == "__main__":
    main()
