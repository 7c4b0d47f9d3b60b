"""Certificate: an X.509 certificate signed by a CA connector (privacyIDEA's certificate).

One token holds one certificate (tokeninfo ``certificate``, PEM; ``CA`` names the
connector that signed it). ``POST /token/init`` with ``type=certificate`` takes one of

* ``request``: a PKCS#10 request (RFC 2986, PEM) the connector ``ca`` signs; a
  request whose signature does not verify is refused;
* ``genkey=1``: the server generates an RSA key (``keysize``, at least 2048 bits)
  for the token's user (subject ``CN=<login>``, with the ``email`` and ``realm``
  subject components when asked for), ``ca`` signs it, and the answer carries the
  key and certificate (and the CA certificate) as a PKCS#12 file (RFC 7292), base64
  in ``detail.pkcs12``, encrypted with the token PIN or, without one, with a random
  password returned once in ``detail.pkcs12_password``, as privacyIDEA 3.14 does;
* ``certificate``: an existing certificate (PEM), stored as it is.

``template`` chooses one of the connector's templates (days and extended key usage).
Revoking the token revokes the certificate at its connector, which signs a new CRL.

A certificate token never authenticates through ``/validate/check``: privacyIDEA's
certificate token has no OTP, its check always fails, so the certificate's validity
is never checked there; a TLS server checks it against the CA and its CRL. Here it is
left out of every check like the SSH key (see :attr:`TokenType.authenticates`), so
no PIN of it is tried nor failure counted.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from pydantic import Field, field_validator
from sqlalchemy.orm import Session, object_session

from factorflow.core.params import PiBool
from factorflow.errors import ParameterError, ServerError
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams, TokenType
from factorflow.tokens.ca import local
from factorflow.tokens.ca.options import MAX_PEM
from factorflow.tokens.ca.service import CA_INFO, CAConnectorService, Connector
from factorflow.tokens.info import delete_info

#: The tokeninfo key of the certificate (privacyIDEA's).
CERTIFICATE = "certificate"
SUBJECT_COMPONENTS = ("email", "realm")


class CertificateInitParams(TokenInitParams):
    ca: str = Field(
        default="",
        max_length=120,
        title="CA connector",
        description="The CA connector that signs the request or the generated key.",
        json_schema_extra={"choices_from": "ca_connectors"},
    )
    request: str = Field(
        default="",
        max_length=MAX_PEM,
        title="Certificate request",
        description="A PKCS#10 certificate signing request (PEM).",
        json_schema_extra={"ui_type": "text"},
    )
    certificate: str = Field(
        default="",
        max_length=MAX_PEM,
        title="Certificate",
        description="An existing certificate (PEM) to store in the token.",
        json_schema_extra={"ui_type": "text"},
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate a key",
        description="1: the server generates the key and answers with a PKCS#12 file.",
    )
    keysize: int = Field(default=2048, ge=1, le=4096, title="RSA key size of a generated key")
    template: str = Field(default="", max_length=120, title="Certificate template")
    subject_components: list[str] = Field(
        default_factory=list,
        max_length=2,
        title="Subject components",
        description="What a generated key's subject adds to CN=<login>: email, realm.",
    )
    #: The request's PIN: the password of a generated key's PKCS#12 file.
    pin: str | None = Field(default=None, max_length=256)

    @field_validator("subject_components", mode="before")
    @classmethod
    def _components(cls, value: object) -> object:
        items = value.split() if isinstance(value, str) else value
        if isinstance(items, list | tuple):
            items = [part for item in items for part in str(item).split()]
            bad = [item for item in items if item not in SUBJECT_COMPONENTS]
            if bad:
                raise ValueError(f"subject components are {' and '.join(SUBJECT_COMPONENTS)}")
            return list(dict.fromkeys(items))
        return value


class CertificateToken(TokenType):
    """An X.509 certificate; the PKCS#12 file of a generated key is kept sealed with
    the token's secret, never in tokeninfo."""

    type_name = "certificate"
    serial_prefix = "CRT"
    InitParams = CertificateInitParams
    one_time_values = False
    authenticates = False
    self_service = True
    owned_info_keys = TokenType.owned_info_keys | {CERTIFICATE, CA_INFO}

    @classmethod
    def describe(cls, configured: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
        described = super().describe(configured)
        described["options"].pop("pin", None)  # the token PIN, asked for by every type
        return described

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, CertificateInitParams)
        self.token.otplen = 0
        self.set_info("tokenkind", "software")
        # A re-enrolled serial keeps nothing of its earlier certificate.
        delete_info(self.token, CA_INFO)
        self.token.secret_enc = ""
        request, uploaded = params.request.strip(), params.certificate.strip()
        if not (request or params.genkey or uploaded):
            raise ParameterError("Missing parameter: 'request', 'genkey' or 'certificate'")
        # privacyIDEA's precedence: a request, else a generated key, else the upload.
        if uploaded and not (request or params.genkey):
            cert = local.load_certificate(params.certificate)
            pem = local.cert_pem(cert)
            self.set_info(CERTIFICATE, pem)
            return {CERTIFICATE: pem}
        if not params.ca:
            raise ParameterError("Missing parameter: 'ca'")
        connector = CAConnectorService(self._box).load(self._session(), params.ca)
        self.set_info(CA_INFO, connector.name)
        if request:
            csr = local.load_request(params.request)
            issue = local.request_issue(csr, connector.options.validity_days, "user")
            pem = connector.issue(self._session(), issue, params.template)
            self.set_info(CERTIFICATE, pem)
            return {CERTIFICATE: pem}
        return self._generate(connector, params, ctx)

    def _generate(
        self, connector: Connector, params: CertificateInitParams, ctx: EnrollContext
    ) -> dict[str, Any]:
        user = ctx.user
        if user is None:
            raise ParameterError("Missing parameter: 'user' (genkey creates a key for a user)")
        # privacyIDEA raises smaller key sizes to 2048 bits.
        key = rsa.generate_private_key(public_exponent=65537, key_size=max(2048, params.keysize))
        subject = local.user_subject(
            user.login, user.attribute("email"), user.realm, params.subject_components
        )
        issue = local.Issue(subject, key.public_key(), connector.options.validity_days, "user")
        pem = connector.issue(self._session(), issue, params.template)
        self.set_info(CERTIFICATE, pem)
        password = params.pin or secrets.token_urlsafe(12)
        container = pkcs12.serialize_key_and_certificates(
            b"certificatetoken", key, local.load_certificate(pem), [connector.cert],
            BestAvailableEncryption(password.encode()),
        )  # fmt: skip
        self.store_secret(container)
        detail: dict[str, Any] = {
            CERTIFICATE: pem,
            "pkcs12": base64.b64encode(container).decode(),
        }
        if not params.pin:  # a PIN the user chose is never echoed
            detail["pkcs12_password"] = password
        return detail

    def _session(self) -> Session:
        # The enroller added the row to the request's unit of work before enroll().
        session = object_session(self.token)
        if session is None:
            raise ServerError("A certificate token is enrolled within a database session.")
        return session

    def revoked(self, session: Session) -> None:
        """Revoke the certificate at the connector that signed it (a new CRL)."""
        name, pem = self.info(CA_INFO), self.info(CERTIFICATE)
        if name and pem:
            CAConnectorService(self._box).load(session, name).revoke(session, pem)

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck()
