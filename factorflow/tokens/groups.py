"""Token groups: ``/tokengroup/`` (admin) and the group membership of tokens."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.params import split_list
from factorflow.errors import ParameterError
from factorflow.tokens.errors import TokenGroupNotFoundError
from factorflow.tokens.models import Token, TokenGroup, TokenGroupMember

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")


def check_group_name(name: str) -> str:
    if not _NAME.match(name):
        raise ParameterError("Invalid tokengroup name: use 1-120 letters, digits, '_', '.' or '-'.")
    return name


class TokenGroupService:
    @staticmethod
    def find(session: Session, name: str) -> TokenGroup | None:
        return session.scalar(select(TokenGroup).where(TokenGroup.name == name))

    def get(self, session: Session, name: str) -> TokenGroup:
        group = self.find(session, name)
        if group is None:
            raise TokenGroupNotFoundError(name)
        return group

    def add(self, session: Session, name: str, description: str) -> int:
        """Create the group or update its description; returns its id."""
        group = self.find(session, check_group_name(name))
        if group is None:
            group = TokenGroup(name=name, description=description)
            session.add(group)
        else:
            group.description = description
        session.flush()
        return group.id

    def describe(self, session: Session, name: str | None = None) -> dict[str, Any]:
        stmt = select(TokenGroup).order_by(TokenGroup.name)
        if name:
            stmt = stmt.where(TokenGroup.name == name)
        return {
            group.name: {"id": group.id, "description": group.description}
            for group in session.scalars(stmt)
        }

    def delete(self, session: Session, name: str) -> int:
        group = self.get(session, name)
        session.delete(group)
        session.flush()
        return group.id

    def assign(self, session: Session, token: Token, names: list[str]) -> int:
        present = {member.group.name for member in token.groups}
        for name in names:
            group = self.get(session, name)
            if group.name not in present:
                token.groups.append(TokenGroupMember(group=group))
                present.add(group.name)
        session.flush()
        return 1

    def set_groups(self, session: Session, token: Token, groups: str | list[str]) -> int:
        """Replace the token's groups with ``groups`` (comma list or list)."""
        wanted = [self.get(session, name).name for name in split_list(groups)]
        for member in list(token.groups):
            if member.group.name not in wanted:
                token.groups.remove(member)
        session.flush()
        return self.assign(session, token, wanted)

    def unassign(self, session: Session, token: Token, name: str) -> int:
        self.get(session, name)
        for member in list(token.groups):
            if member.group.name == name:
                token.groups.remove(member)
        session.flush()
        return 1
