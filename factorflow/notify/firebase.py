"""The ``push`` job kind: a push token's challenge as a Firebase Cloud Messaging
notification to the smartphone.

Payload (what the push token's challenge enqueues): ``{"project_id": "<Firebase
project>", "fbtoken": "<the phone's registration token>", "data": {"nonce", "question",
"serial", "title", "sslverify", "url", "signature"}}``. The deliverer posts the FCM
HTTP v1 message (``{"message": {"token", "data", "android": {"priority": "high"}}}``,
firebase.google.com/docs/reference/fcm/rest/v1/projects.messages) to
``Settings.push_fcm_url``.

Not done here: Google's OAuth 2.0 service-account flow that FCM requires for its
bearer token. A deployment puts an authenticating relay at ``push_fcm_url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factorflow.jobs.base import Deliverer, DeliveryError, JobView, PermanentDeliveryError

#: 4xx answers that say "later", not "never".
_RETRYABLE_4XX = frozenset({408, 425, 429})


def fcm_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The FCM v1 request body for ``payload``; PermanentDeliveryError when it lacks
    the phone's token or the data (FCM data values are strings)."""
    token, data = payload.get("fbtoken"), payload.get("data")
    if not isinstance(token, str) or not token or not isinstance(data, dict):
        raise PermanentDeliveryError("Job payload needs 'fbtoken' and 'data'")
    return {
        "message": {
            "token": token,
            "data": {str(key): str(value) for key, value in data.items()},
            "android": {"priority": "high"},
        }
    }


class PushDeliverer(Deliverer):
    """Posts the notification to FCM; Idempotency-Key = the job's key."""

    kind = "push"

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        data = payload.get("data")
        return str(data.get("serial", "")) if isinstance(data, dict) else ""

    def deliver(self, job: JobView) -> str:
        body = fcm_message(job.payload)
        project = str(job.payload.get("project_id") or "")
        if not project:
            raise PermanentDeliveryError("Job payload needs 'project_id'")
        url = self.ports.settings.push_fcm_url.replace("{project_id}", project)
        import httpx  # here, not at the top: a worker that never sends carries no HTTP client

        try:
            with httpx.Client(timeout=self.ports.settings.push_fcm_timeout_seconds) as client:
                response = client.post(
                    url, json=body, headers={"Idempotency-Key": job.idempotency_key}
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"Firebase {url} unreachable: {exc or type(exc).__name__}"
            ) from None
        status = response.status_code
        if status >= 300:
            permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
            error = PermanentDeliveryError if permanent else DeliveryError
            raise error(f"Firebase answered HTTP {status}: {response.text[:200]}")
        return f"Firebase answered HTTP {status}"
