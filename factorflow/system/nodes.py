"""The nodes of one installation: privacyIDEA's ``nodename`` table and ``/system/nodes``.

privacyIDEA 3.10+ gives every server process a node name (pi.cfg ``PI_NODE``, by
default the host name) and a UUID (``PI_NODE_UUID``, else a file, else generated);
each node writes itself into the shared database when it starts, so that any node can
list all of them (``GET /system/nodes``: ``name`` and ``uuid`` per node). Factorflow
does the same: the name is ``Settings.node_name``, the UUID ``Settings.node_uuid`` or
``<data_dir>/node.uuid`` (created on first start and kept), and the API and the
worker register (and set ``lastseen``) when they start.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from factorflow.db.base import retrying, utcnow
from factorflow.settings import Settings
from factorflow.system.models import NodeName

UUID_FILE = "node.uuid"

log = logging.getLogger(__name__)


def node_uuid(settings: Settings) -> str:
    """This node's UUID: the setting, else the one kept in ``<data_dir>/node.uuid``
    (written on first use, so that a restarted node stays the same node)."""
    if settings.node_uuid:
        return str(uuid.UUID(settings.node_uuid))
    path: Path = settings.data_dir / UUID_FILE
    try:
        return str(uuid.UUID(path.read_text(encoding="ascii").strip()))
    except (OSError, ValueError):
        pass
    value = str(uuid.uuid4())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="ascii")
    return value


class NodeService:
    def __init__(self, settings: Settings) -> None:
        self.name = settings.node_name
        self._settings = settings
        self._uuid: str | None = None

    @property
    def uuid(self) -> str:
        if self._uuid is None:
            self._uuid = node_uuid(self._settings)
        return self._uuid

    def register(self, sessions: sessionmaker[Session]) -> None:
        """Write this node (name, now) into the table; another node starting at the same
        moment with the same UUID is a conflict retried as any write conflict."""

        def work(session: Session) -> None:
            row = session.get(NodeName, self.uuid)
            if row is None:
                session.add(NodeName(id=self.uuid, name=self.name, lastseen=utcnow()))
                session.flush()
            else:
                row.name, row.lastseen = self.name, utcnow()

        try:
            try:
                retrying(sessions, work)
            except IntegrityError:
                retrying(sessions, work)  # inserted by a twin meanwhile: now an update
        except DBAPIError as exc:
            # Being listed is not worth refusing to serve: a database not migrated to
            # the nodes table yet (a rolling upgrade) still answers requests.
            log.warning("node %s (%s) could not register: %s", self.name, self.uuid, exc)

    @staticmethod
    def list(session: Session) -> list[dict[str, str]]:
        """privacyIDEA's answer: every known node's ``name`` and ``uuid``, by name."""
        rows = session.scalars(select(NodeName).order_by(NodeName.name, NodeName.id))
        return [{"name": row.name, "uuid": row.id} for row in rows]
