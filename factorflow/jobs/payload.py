"""The sealed part of a job's payload.

What a message says is often a secret that only exists at request time: a random PIN
just set, the otpauth URI or QR code of a token being enrolled, a registration code.
Such values travel in the payload's sealed part, one
:class:`~factorflow.crypto.SecretBox` ciphertext of a JSON object bound to
``job:<idempotency key>``: the job table holds nothing readable, the worker opens it
right before delivery, and the deliverer gets one payload with both parts merged
(:func:`opened`). What is computed at delivery from stored state (the OTP of a
challenge, :mod:`factorflow.tokens.sent`) never enters the job at all.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from factorflow.crypto import SecretBox
from factorflow.jobs.base import JobView

#: Payload key of the sealed part.
SEALED = "sealed"


def _purpose(idempotency_key: str) -> str:
    return f"job:{idempotency_key}"


def sealed_payload(
    box: SecretBox, idempotency_key: str, payload: Mapping[str, Any], secret: Mapping[str, Any]
) -> dict[str, Any]:
    """``payload`` with ``secret`` added as its sealed part (nothing to seal: as is)."""
    out = dict(payload)
    if secret:
        out[SEALED] = box.encrypt_text(json.dumps(dict(secret)), _purpose(idempotency_key))
    return out


def opened(box: SecretBox, job: JobView) -> JobView:
    """``job`` with its sealed part opened into its payload (for the deliverer only).
    Raises :class:`~factorflow.errors.ServerError` or ValueError when it cannot be."""
    sealed = job.payload.get(SEALED)
    if not isinstance(sealed, str):
        return job
    secret = json.loads(box.decrypt_text(sealed, _purpose(job.idempotency_key)))
    if not isinstance(secret, dict):
        raise ValueError("the sealed part of the payload is not an object")
    public = {key: value for key, value in job.payload.items() if key != SEALED}
    return dataclasses.replace(job, payload={**public, **secret})


__all__ = ["SEALED", "opened", "sealed_payload"]
