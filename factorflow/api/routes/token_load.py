"""``POST /token/load/<filename>``: import a seed file (privacyIDEA's path, event and
answer), and ``POST /token/export``: PSKC export of chosen tokens (a Factorflow
addition). See :mod:`factorflow.tokens.seeds` and docs/token-import.md."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import split_list
from factorflow.errors import ParameterError, PolicyError
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies
from factorflow.tokens.requests import NameList, Request
from factorflow.tokens.seeds.gpg import KEYRING
from factorflow.tokens.seeds.load import LoadOptions, check_file, load_file
from factorflow.tokens.seeds.pskcfile import MacCheck, Protection, export_pskc, psk_bytes

routes = Routes("token_load")
Secret = Annotated[str, Field(max_length=256)]
#: RFC 6030 section 12.1.
PSKC_MEDIA_TYPE = "application/pskc+xml"


class LoadRequest(Request):
    filename: Annotated[str, Field(max_length=255)]
    type: Annotated[str, Field(max_length=30)]
    #: The uploaded file's text (multipart field ``file``).
    file: str
    tokenrealms: NameList | None = None
    psk: Secret | None = None
    password: Secret | None = None
    pskcValidateMAC: MacCheck = "check_fail_hard"  # noqa: N815 (privacyIDEA's name)


class ExportRequest(Request):
    serial: NameList
    psk: Secret | None = None
    password: Secret | None = None


@routes.route(
    "POST", "/token/load/{filename}", event="token_load", params=LoadRequest, access=Access.ADMIN
)
def load(call: Call[LoadRequest]) -> Outcome:
    """Import the tokens of a PSKC, OATH CSV or Yubikey CSV file, all or none."""
    params, tokens, session = call.params, call.services.tokens, call.session
    options = LoadOptions(
        file_type=params.type,
        realms=tuple(split_list(params.tokenrealms)),
        psk=params.psk or "",
        password=params.password or "",
        validate_mac=params.pskcValidateMAC,
        gnupg_home=call.services.settings.data_dir / KEYRING,
    )
    report = check_file(session, tokens.types, tokens.access.users, params.file, options)
    # The authorizer checked the token realms; the owners' realms come from the file.
    allowed = RequestPolicies(call.services.policies, session, call.inv.client_ip).admin_realms(
        call.actor, "importtokens"
    )
    if allowed is not None:
        # privacyIDEA lets a realm-limited admin import spare tokens into no realm,
        # out of its realms' reach; here they must go into its realms.
        if not options.realms and any(t.owner is None for t in report.imported):
            raise PolicyError("You may import tokens into your realms only: give tokenrealms.")
        if not report.owner_realms() <= allowed:
            outside = sorted(report.owner_realms() - allowed)
            raise PolicyError(f"You may not import tokens for users of realm {outside[0]!r}.")
    load_file(session, tokens.types, tokens.box, report)
    call.audit.info = f"{params.type}, {params.filename} (imported: {len(report.imported)})"[:200]
    call.audit.note_token(",".join(t.serial for t in report.imported)[:200])
    return Outcome(value=report.value, detail=report.detail)


@routes.route(
    "POST", "/token/export", event="token_export", params=ExportRequest, access=Access.ADMIN
)
def export(call: Call[ExportRequest]) -> Outcome:
    """Export HOTP and TOTP tokens with their secrets as a PSKC file, encrypted with a
    pre-shared key (``psk``, hex) or a password."""
    params, tokens = call.params, call.services.tokens
    serials = split_list(params.serial)
    if not serials:
        raise ParameterError("Missing parameter: 'serial'")
    if params.psk and params.password:
        raise ParameterError("Give either a pre-shared key or a password, not both")
    protection = Protection(
        psk=psk_bytes(params.psk) if params.psk else b"", password=params.password or ""
    )
    chosen = [tokens.access.get(call.session, call.actor, serial) for serial in serials]
    body = export_pskc(chosen, tokens.types, tokens.box, protection)
    call.audit.info = f"PSKC export of {len(chosen)} token(s)"
    call.audit.note_token(",".join(serials)[:200])
    return Outcome(
        value=len(chosen),
        raw_body=body,
        raw_media_type=PSKC_MEDIA_TYPE,
        raw_headers={"Content-Disposition": 'attachment; filename="tokens.pskcxml"'},
    )
