"""/jobs: the durable job queue — list, show with attempts, retry, discard (admins only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.jobs.service import describe_job
from factorflow.pipeline import Access

routes = Routes("jobs")


class JobListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    state: str = Field(default="", max_length=16)
    kind: str = Field(default="", max_length=64)
    definition: str = Field(default="", max_length=255)
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=15, ge=1, le=1000)


class JobIdParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    job_id: int = Field(ge=1, le=2**62)


@routes.route("GET", "/jobs/", event="jobs_list", params=JobListParams, access=Access.ADMIN)
def list_jobs(call: Call[JobListParams]) -> Outcome:
    """List jobs, newest first, filtered by state, kind and event definition."""
    p = call.params
    found = call.services.jobs.list(
        call.session,
        state=p.state,
        kind=p.kind,
        definition=p.definition,
        page=p.page,
        page_size=p.page_size,
    )
    pages = (found.total + p.page_size - 1) // p.page_size
    return Outcome(
        value={
            "jobs": [describe_job(job) for job in found.jobs],
            "count": found.total,
            "current": p.page,
            "next": p.page + 1 if p.page < pages else None,
            "prev": p.page - 1 if p.page > 1 else None,
        }
    )


@routes.route("GET", "/jobs/{job_id}", event="job_get", params=JobIdParams, access=Access.ADMIN)
def get_job(call: Call[JobIdParams]) -> Outcome:
    """Show one job: its metadata, last error and every delivery attempt. Never its
    payload, which may hold a secret (sealed) and is purged after delivery."""
    job = call.services.jobs.get(call.session, call.params.job_id)
    return Outcome(value=describe_job(job, attempts=True))


@routes.route(
    "POST", "/jobs/{job_id}/retry", event="job_retry", params=JobIdParams, access=Access.ADMIN
)
def retry_job(call: Call[JobIdParams]) -> Outcome:
    """Queue a dead, discarded or waiting job for delivery now, with fresh attempts."""
    call.audit.action_detail = f"job={call.params.job_id}"
    job = call.services.jobs.retry(call.session, call.params.job_id)
    return Outcome(value=describe_job(job))


@routes.route(
    "POST", "/jobs/{job_id}/discard", event="job_discard", params=JobIdParams, access=Access.ADMIN
)
def discard_job(call: Call[JobIdParams]) -> Outcome:
    """Give up on a waiting or dead job; it stays listed as discarded."""
    call.audit.action_detail = f"job={call.params.job_id}"
    job = call.services.jobs.discard(call.session, call.params.job_id)
    return Outcome(value=describe_job(job))
