"""The background worker: job delivery and scheduled definitions, in the API process
(``serve``) or in processes of its own (``factorflow worker``). An entry point like
the API and the CLI: it is built from the composition root."""

from factorflow.worker.runner import Worker

__all__ = ["Worker"]
