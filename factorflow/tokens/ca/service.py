"""CA connectors (``/caconnector/``) and what certificate tokens ask of them.

:class:`CAConnectorService` keeps the configurations: create or update (a CA
generated on creation, or given as PEM), list, delete (refused while certificate
tokens name the connector) and the CRL. The CA's private key is sealed with the
secret box, bound to ``caconnector:<name>:cakey``, and answered as ``__CENSORED__``.

:class:`Connector` is one loaded connector: it issues certificates (each recorded
with its serial number) and revokes them; every revocation signs a new CRL in the
same transaction. The CRL is signed again when it is read within
``CRL_Overlap_Period`` days of its next update.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.core.checks import check_name
from factorflow.core.redaction import CENSORED
from factorflow.crypto import SecretBox
from factorflow.db.base import utcnow
from factorflow.db.named import NamedConfigs, SealedValues
from factorflow.errors import ParameterError
from factorflow.tokens.ca import local
from factorflow.tokens.ca.errors import CAConnectorNotFoundError, CAError
from factorflow.tokens.ca.models import CAConnectorConfig, IssuedCertificate
from factorflow.tokens.ca.options import IGNORED, LocalCAOptions, options_error, parse_templates
from factorflow.tokens.models import Token, TokenInfo

TYPES = ("local",)
#: The tokeninfo key naming a certificate token's connector (privacyIDEA's).
CA_INFO = "CA"


def _rows() -> NamedConfigs[CAConnectorConfig]:
    return NamedConfigs(CAConnectorConfig, CAConnectorNotFoundError, column="name")


@dataclass
class Connector:
    """A loaded connector: its row, options, CA certificate and key."""

    row: CAConnectorConfig
    options: LocalCAOptions
    cert: x509.Certificate
    key: local.CAKey

    @property
    def name(self) -> str:
        return self.row.name

    def issue(self, session: Session, issue: local.Issue, template: str = "") -> str:
        """Sign ``issue`` (its days and extensions from ``template`` when named) and
        record the certificate; its PEM."""
        if template:
            templates = parse_templates(self.options.templates)
            if template not in templates:
                raise CAError(f"The CA connector {self.name!r} has no template {template[:60]!r}.")
            chosen = templates[template]
            issue = local.Issue(
                issue.subject, issue.public_key, chosen.days, chosen.extensions, issue.alt_names
            )
        now = utcnow()
        cert = local.sign(self.cert, self.key, issue, now)
        session.add(
            IssuedCertificate(
                connector_id=self.row.id,
                serial=f"{cert.serial_number:x}",
                subject=cert.subject.rfc4514_string()[:255],
                not_after=cert.not_valid_after_utc,
                issued_at=now,
            )
        )
        session.flush()
        return local.cert_pem(cert)

    def revoke(self, session: Session, pem: str, reason: str = "") -> bool:
        """Put the certificate on the CRL (signed anew); False when it was revoked
        before. A certificate this CA did not issue is refused."""
        cert = local.load_certificate(pem)
        number = self._lock(session)
        row = session.scalar(
            select(IssuedCertificate).where(
                IssuedCertificate.connector_id == self.row.id,
                IssuedCertificate.serial == f"{cert.serial_number:x}",
            )
        )
        if row is None or cert.issuer != self.cert.subject:
            raise CAError(f"The certificate was not issued by the CA connector {self.name!r}.")
        if row.revoked_at is not None:
            return False
        row.revoked_at, row.reason = utcnow(), reason
        session.flush()
        self._sign(session, number)
        return True

    def sign_crl(self, session: Session) -> str:
        """A new CRL of the revoked certificates that have not expired, stored."""
        return self._sign(session, self._lock(session))

    def _lock(self, session: Session) -> int:
        """The next CRL number. Its increment locks the connector row before any
        certificate row is touched: revocations of one CA run one after the other (no
        lock order to deadlock on), each CRL with every revocation committed before."""
        session.execute(
            update(CAConnectorConfig)
            .where(CAConnectorConfig.id == self.row.id)
            .values(crl_number=CAConnectorConfig.crl_number + 1),
            execution_options={"synchronize_session": False},
        )
        number = int(
            session.scalar(
                select(CAConnectorConfig.crl_number).where(CAConnectorConfig.id == self.row.id)
            )
            or 1
        )
        set_committed_value(self.row, "crl_number", number)
        return number

    def _sign(self, session: Session, number: int) -> str:
        now = utcnow()
        # A locking read sees the latest committed revocations, also where the
        # transaction's snapshot is older (MariaDB's repeatable read).
        rows = session.execute(
            select(IssuedCertificate.serial, IssuedCertificate.revoked_at, IssuedCertificate.reason)
            .where(
                IssuedCertificate.connector_id == self.row.id,
                IssuedCertificate.revoked_at.is_not(None),
                IssuedCertificate.not_after > now,
            )
            .order_by(IssuedCertificate.id)
            .with_for_update()
        )
        revoked = [local.Revoked(int(serial, 16), at or now, why) for serial, at, why in rows]
        days = self.options.CRL_Validity_Period
        self.row.crl = local.build_crl(
            self.cert, self.key, revoked, number=number, days=days, now=now
        )
        session.flush()
        return self.row.crl


class CAConnectorService:
    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self._rows = _rows()
        self._secrets = SealedValues(box, "caconnector")

    def names(self, session: Session) -> list[str]:
        return self._rows.names(session)

    # -- the connectors the token type uses -----------------------------------------

    def load(self, session: Session, name: str) -> Connector:
        row = self._rows.find(session, name)
        if row is None:
            raise ParameterError(f"The CA connector {name[:120]!r} does not exist.")
        return self._loaded(row)

    def _loaded(self, row: CAConnectorConfig) -> Connector:
        options = LocalCAOptions.model_validate(json.loads(row.config or "{}"))
        key = local.load_key(self._secrets.open(row.cakey_enc, row.name, "cakey"))
        return Connector(row, options, local.load_certificate(row.cacert), key)

    # -- /caconnector/ ---------------------------------------------------------------

    def describe(self, row: CAConnectorConfig) -> dict[str, Any]:
        """privacyIDEA's list entry: name, type, the options under ``data`` (the key
        censored) and the templates."""
        options = json.loads(row.config or "{}")
        data = {**options, "cacert": row.cacert, "cakey": self._secrets.censored(row.cakey_enc)}
        templates = parse_templates(str(options.get("templates", "")))
        return {
            "connectorname": row.name,
            "type": row.catype,
            "data": data,
            "templates": {name: t.model_dump() for name, t in templates.items()},
        }

    def list(self, session: Session, name: str = "") -> list[dict[str, Any]]:
        return [self.describe(row) for row in self._rows.selected(session, name)]

    def save(self, session: Session, name: str, catype: str, fields: Mapping[str, Any]) -> int:
        """Create or update the connector ``name``; its id. Options not sent keep their
        stored values; the CA is generated on creation unless ``cacert`` and
        ``cakey`` give it."""
        check_name("CA connector", name)
        if catype not in TYPES:
            raise ParameterError(
                f"Unknown CA connector type {catype[:30]!r}; known types: {', '.join(TYPES)}"
            )
        row = self._rows.find(session, name)
        given = {k: v for k, v in fields.items() if k not in IGNORED}
        stored = json.loads(row.config) if row is not None else {}
        try:
            options = LocalCAOptions.model_validate({**stored, **given})
        except ValidationError as exc:
            raise options_error(exc) from None
        cert_pem, key_enc = self._ca_material(session, name, row, options)
        values = {
            "catype": catype,
            "config": json.dumps(options.stored()),
            "cacert": cert_pem,
            "cakey_enc": key_enc,
        }
        saved = self._rows.save(session, name, values, row=row)
        if not saved.crl:
            self._loaded(saved).sign_crl(session)
        return saved.id

    def _ca_material(
        self, session: Session, name: str, row: CAConnectorConfig | None, options: LocalCAOptions
    ) -> tuple[str, str]:
        """The CA certificate (PEM) and sealed key to store."""
        sent_key = options.cakey if options.cakey != CENSORED else ""
        if not options.cacert and not sent_key:
            if row is not None:
                return row.cacert, row.cakey_enc
            subject = local.parse_subject(options.subject or f"CN={name}")
            pem, generated = local.generate_ca(subject, options.ca_days, options.keytype, utcnow())
            return pem, self._seal(local.key_pem(generated), name)
        if not options.cacert:
            raise ParameterError("Missing option 'cacert': the CA key needs its certificate.")
        if not sent_key and row is None:
            raise ParameterError("Missing option 'cakey': the CA certificate needs its key.")
        cert = local.load_certificate(options.cacert)
        if not sent_key and row is not None:  # a new certificate for the stored key
            sent_key = self._secrets.open(row.cakey_enc, name, "cakey")
        key = local.load_key(sent_key)
        local.check_ca(cert, key)
        pem = local.cert_pem(cert)
        if row is not None and pem != row.cacert and self._issued(session, row):
            raise CAError(
                f"The CA connector {name!r} has issued certificates: its CA cannot be replaced."
            )
        return pem, self._seal(local.key_pem(key), name)

    def _seal(self, key_pem: str, name: str) -> str:
        return self._secrets.seal(key_pem, name, "cakey")

    @staticmethod
    def _issued(session: Session, row: CAConnectorConfig) -> bool:
        count = session.scalar(
            select(func.count(IssuedCertificate.id)).where(IssuedCertificate.connector_id == row.id)
        )
        return bool(count)

    def delete(self, session: Session, name: str) -> None:
        """Delete a connector no certificate token names."""
        row = self._rows.get(session, name)
        used = session.scalar(
            select(func.count(TokenInfo.id))
            .join(Token, Token.id == TokenInfo.token_id)
            .where(Token.tokentype == "certificate", TokenInfo.key == CA_INFO)
            .where(TokenInfo.value == name)
        )
        if used:
            raise CAError(f"The CA connector {name!r} is used by {used} certificate token(s).")
        self._rows.remove(session, row)

    def crl(self, session: Session, name: str) -> dict[str, Any]:
        """The current CRL (PEM), signed anew when it is due within the overlap."""
        connector = self._loaded(self._rows.get(session, name))
        crl_pem = connector.row.crl
        crl = x509.load_pem_x509_crl(crl_pem.encode()) if crl_pem else None
        overlap = timedelta(days=connector.options.CRL_Overlap_Period)
        if crl is None or _next_update(crl) - overlap <= utcnow():
            crl_pem = connector.sign_crl(session)
            crl = x509.load_pem_x509_crl(crl_pem.encode())
        return {
            "crl": crl_pem,
            "crl_number": connector.row.crl_number,
            "revoked": [f"{r.serial_number:x}" for r in crl],
            "next_update": _next_update(crl).isoformat(),
        }


def _next_update(crl: x509.CertificateRevocationList) -> datetime:
    when = crl.next_update_utc
    return when if when is not None else utcnow()
