"""Imports every feature's tables so that the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from factorflow.admins import models as admins
from factorflow.audit import models as audit
from factorflow.auth import models as auth
from factorflow.db import models as config
from factorflow.events import models as events
from factorflow.events.streams import models as streams
from factorflow.federation import models as federation
from factorflow.jobs import models as jobs
from factorflow.machines import models as machines
from factorflow.notify import models as notify
from factorflow.policies import models as policies
from factorflow.radius import models as radius
from factorflow.tokens import models as tokens
from factorflow.users import models as users
from factorflow.validate import models as validate

__all__ = [
    "admins",
    "audit",
    "auth",
    "config",
    "events",
    "federation",
    "jobs",
    "machines",
    "notify",
    "policies",
    "radius",
    "streams",
    "tokens",
    "users",
    "validate",
]
