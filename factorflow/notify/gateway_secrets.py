"""The secret values of SMS gateways: every header value, and each request parameter
whose name says credential (:data:`~factorflow.notify.options.SENSITIVE_NAME`).

They are stored as :class:`~factorflow.crypto.SecretBox` ciphertexts bound to
``smsgateway:<identifier>:header:<name>`` / ``smsgateway:<identifier>:option:<name>``,
answered as ``__CENSORED__`` (sent back, it keeps the stored value) and opened only
to send. Values stored before they were sealed are read as they are and sealed by
:meth:`GatewaySecrets.seal_plain`.
"""

from __future__ import annotations

from collections.abc import Mapping

from factorflow.core.redaction import CENSORED
from factorflow.crypto import SecretBox
from factorflow.db.named import SealedValues
from factorflow.errors import ParameterError
from factorflow.notify.models import SmsGateway
from factorflow.notify.options import SENSITIVE_NAME

HEADER = "header"
OPTION = "option"
#: (``header`` / ``option``, name) → value.
Values = dict[tuple[str, str], str]


def is_secret(part: str, name: str) -> bool:
    return part == HEADER or SENSITIVE_NAME.search(name) is not None


def censored(part: str, values: Mapping[str, str]) -> dict[str, str]:
    """``values`` as answers show them: set secrets ``__CENSORED__``."""
    return {
        name: CENSORED if value and is_secret(part, name) else value
        for name, value in values.items()
    }


class GatewaySecrets:
    def __init__(self, box: SecretBox) -> None:
        self.values = SealedValues(box, "smsgateway")

    def opened(self, row: SmsGateway) -> Values:
        """The gateway's secret values in plaintext."""
        out: Values = {}
        for part, values in ((HEADER, row.headers or {}), (OPTION, row.parameters or {})):
            for name, value in values.items():
                if is_secret(part, name):
                    out[part, name] = self.values.open(
                        value, row.identifier, part, name, plain_ok=True
                    )
        return out

    def sealed(
        self, identifier: str, part: str, sent: Mapping[str, str], stored: Values
    ) -> dict[str, str]:
        """The ``header`` or ``option`` values of a save as stored: secrets sealed, a
        ``__CENSORED__`` one replaced by its ``stored`` value (refused if none)."""

        def refuse() -> ParameterError:
            return ParameterError(
                f"Invalid parameter '{part}.{name}': {CENSORED} stands for the stored "
                "value, but there is none; send the value itself"
            )

        out: dict[str, str] = {}
        for name, value in sent.items():
            if not is_secret(part, name):
                out[name] = value
                continue
            plain = self.values.kept(value, stored.get((part, name)), refuse)
            out[name] = self.values.seal(plain, identifier, part, name, keep_empty=False)
        return out

    def seal_plain(self, row: SmsGateway) -> bool:
        """Seal the secret values ``row`` holds in plaintext; whether any changed."""
        changed = False
        for part in (HEADER, OPTION):
            values = dict(row.headers if part == HEADER else row.parameters)
            for name, value in values.items():
                if value and is_secret(part, name) and not SecretBox.is_sealed(value):
                    values[name] = self.values.seal(value, row.identifier, part, name)
                    changed = True
            if part == HEADER:
                row.headers = values
            else:
                row.parameters = values
        return changed
