"""The catalog of scopes and actions with their value types.

One source for three uses: validating ``action`` on save, ``GET /policy/defs``
and the web UI's forms. Names, scopes and values follow privacyIDEA 3.14, so that
exported policies carry over; Factorflow's earlier names are translated on save
(:mod:`factorflow.policies.legacy`). Enrolment rights (``enroll<TYPE>``) are
generated from the installed token types.

Value types:

* ``bool`` — the action is on when present (stored as ``true``);
* ``int`` — an integer, optionally bounded;
* ``str`` — free text, optionally restricted to ``choices`` (with ``multi`` a
  space-separated list of choices) or a ``pattern``.

``unique`` actions take one value per request (the best priority wins, see
:mod:`factorflow.policies.matching`); non-unique ones collect the values of every
matching policy (``tokentype``, ``challenge_response``, ...).

``right`` marks the admin and user actions that grant something. Only a policy that
holds a right makes its scope restrictive (see :meth:`Catalog.rights`): an admin
policy that only sets PIN rules does not take the other rights away from admins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from factorflow.core.params import is_true

ActionValue = bool | int | str
ValueType = Literal["bool", "int", "str"]

#: ``180d``, ``12h``, ``30m`` — privacyIDEA's duration syntax for ``lastauth``.
DURATION_PATTERN = r"^\d{1,6}[smhdy]$"
#: ``3/5m`` — at most N in a time window.
RATE_PATTERN = r"^\d{1,6}/\d{1,6}[smhd]$"
#: ``4h``, ``4h/5m`` or ``4h/3`` — see :class:`factorflow.policies.authn.AuthCacheRule`.
AUTH_CACHE_PATTERN = r"^\d{1,6}[smhd](/(\d{1,6}[smhd]|[1-9]\d{0,5}))?$"
HASHLIBS = ("sha1", "sha256", "sha512")
#: ``:department: sales finance :city: *`` — privacyIDEA's set_custom_user_attributes.
CUSTOM_SET_PATTERN = r"^\s*(:[^:\s]+:(\s+[^:\s]+)+\s*)+$"
#: ``cn``, ``+cn``, ``-s`` or ``[0123456789]`` — privacyIDEA's otp_pin_contents.
PIN_CONTENTS_PATTERN = r"^([-+]?[cnso]+|\[[^\]]{1,200}\])$"


class ActionDef(BaseModel):
    """One action of a scope: its value type and how the web UI shows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: ValueType = "bool"
    desc: str = ""
    group: str = ""
    choices: tuple[str, ...] = ()
    multi: bool = False
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    unique: bool = True
    #: Grants something in the admin / user scope (see the module docstring).
    right: bool = False
    #: What the action alone, without a value, stands for (an earlier boolean form).
    bare: str | None = None

    def coerce(self, raw: object) -> ActionValue:
        """The stored value for ``raw``; raises ValueError naming what is wrong."""
        if self.type == "bool":
            if raw is None or raw == "" or raw is True or is_true(raw):
                return True
            raise ValueError(f"action {self.name!r} is boolean and takes no value")
        if raw is None or raw is True or (isinstance(raw, str) and not raw.strip()):
            raise ValueError(f"action {self.name!r} needs a value")
        if self.type == "int":
            return self._int(raw)
        return self._str(str(raw).strip())

    def _int(self, raw: object) -> int:
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise ValueError(f"action {self.name!r} takes an integer") from None
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"action {self.name!r} must be at least {self.minimum}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"action {self.name!r} must be at most {self.maximum}")
        if self.choices and str(number) not in self.choices:
            raise ValueError(f"action {self.name!r} must be one of {', '.join(self.choices)}")
        return number

    def _str(self, text: str) -> str:
        if len(text) > 1000:
            raise ValueError(f"action {self.name!r} is longer than 1000 characters")
        if self.choices:
            items = text.split() if self.multi else [text]
            bad = [item for item in items if item not in self.choices]
            if bad or not items:
                raise ValueError(
                    f"action {self.name!r} must be {'any' if self.multi else 'one'} of "
                    f"{', '.join(self.choices)}"
                )
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise ValueError(f"action {self.name!r} has an invalid value {text[:40]!r}")
        return text

    def describe(self) -> dict[str, object]:
        """privacyIDEA's ``GET /policy/defs`` entry, plus the value constraints."""
        out: dict[str, object] = {"type": self.type, "desc": self.desc}
        if self.group:
            out["group"] = self.group
        if self.choices:
            out["value"] = list(self.choices)
        if self.multi:
            out["multi"] = True
        if self.pattern:
            out["pattern"] = self.pattern
        if self.minimum is not None:
            out["min"] = self.minimum
        if self.maximum is not None:
            out["max"] = self.maximum
        return out


def _b(name: str, desc: str, group: str = "", *, right: bool = False) -> ActionDef:
    return ActionDef(name=name, desc=desc, group=group, right=right)


def _rights(rows: Iterable[tuple[str, str, str]]) -> list[ActionDef]:
    return [_b(name, desc, group, right=True) for name, desc, group in rows]


def _admin_rights() -> list[ActionDef]:
    token, tools, general = "token", "tools", "general"
    rights = [
        ("enable", "Enable tokens.", token),
        ("disable", "Disable tokens.", token),
        ("revoke", "Revoke tokens.", token),
        ("losttoken", "Replace lost tokens with a temporary password token.", tools),
        ("getserial", "Find the serial of a token by its OTP.", tools),
        ("copytokenpin", "Copy the PIN of one token to another.", tools),
        ("copytokenuser", "Copy the owner of one token to another.", tools),
        ("setrandompin", "Set a random PIN on tokens.", token),
        ("reset", "Reset the fail counter of tokens.", token),
        ("resync", "Resynchronise tokens.", token),
        ("setpin", "Set the OTP PIN of tokens.", token),
        ("setdescription", "Set the description of tokens.", token),
        ("set", "Set token attributes.", token),
        ("settokeninfo", "Set or delete tokeninfo values.", token),
        ("assign", "Assign tokens to users.", token),
        ("unassign", "Unassign tokens.", token),
        ("delete", "Delete tokens.", token),
        ("tokenlist", "List tokens.", token),
        ("tokenrealms", "Set the realms of tokens.", token),
        ("tokengroups", "Add tokens to and remove them from token groups.", token),
        ("importtokens", "Import token seed files (POST /token/load).", tools),
        ("exporttokens", "Export tokens with their secrets to PSKC (Factorflow).", tools),
        ("getchallenges", "List challenges.", general),
        ("cancelchallenge", "Cancel the challenges of a transaction.", general),
        ("triggerchallenge", "Trigger challenges via /validate/triggerchallenge.", general),
        ("tokengroup_list", "List token groups.", "tokengroup"),
        ("tokengroup_add", "Add token groups.", "tokengroup"),
        ("tokengroup_delete", "Delete token groups.", "tokengroup"),
        ("userlist", "List users.", general),
        ("adduser", "Add users to editable resolvers.", "user"),
        ("updateuser", "Update users in editable resolvers.", "user"),
        ("deleteuser", "Delete users from editable resolvers.", "user"),
        ("auditlog", "Read the audit log.", "system"),
        ("auditlog_download", "Download the audit log as CSV.", "system"),
        ("resolverread", "Read resolver definitions.", "system"),
        ("resolverwrite", "Write resolver definitions.", "system"),
        ("resolverdelete", "Delete resolver definitions.", "system"),
        ("configread", "Read the realm and system configuration.", "system"),
        ("configwrite", "Write the realm and system configuration.", "system"),
        ("configdelete", "Delete realms and system configuration.", "system"),
        ("system_documentation", "Download the configuration document.", "system"),
        ("getrandom", "Get random key material from /system/random.", "system"),
        ("policyread", "Read policies.", "system"),
        ("policywrite", "Write policies.", "system"),
        ("policydelete", "Delete policies.", "system"),
        ("eventhandling_read", "Read event definitions.", "system"),
        ("eventhandling_write", "Write event definitions.", "system"),
        ("smtpserver_read", "Read SMTP server definitions.", "system"),
        ("smtpserver_write", "Write SMTP server definitions.", "system"),
        ("smsgateway_read", "Read SMS gateway definitions.", "system"),
        ("privacyideaserver_read", "Read privacyIDEA server definitions.", "system"),
        ("privacyideaserver_write", "Write privacyIDEA server definitions.", "system"),
        ("radiusserver_read", "Read RADIUS server definitions.", "system"),
        ("radiusserver_write", "Write RADIUS server definitions.", "system"),
        ("smsgateway_write", "Write SMS gateway definitions.", "system"),
        ("eventstream_read", "Read event stream definitions (Factorflow).", "system"),
        ("eventstream_write", "Write event stream definitions (Factorflow).", "system"),
        ("jobs_read", "Read the job queue (Factorflow).", "system"),
        ("jobs_write", "Retry or discard jobs (Factorflow).", "system"),
        ("loginlockout_read", "List login backoffs and lockouts (Factorflow).", "system"),
        ("loginlockout_write", "Clear login backoffs and lockouts (Factorflow).", "system"),
        ("machineresolverread", "Read machine resolver definitions.", "machine"),
        ("machineresolverwrite", "Write machine resolver definitions.", "machine"),
        ("machineresolverdelete", "Delete machine resolver definitions.", "machine"),
        ("machinelist", "List machines.", "machine"),
        ("manage_machine_tokens", "Attach tokens to machines and applications.", "machine"),
        ("fetch_authentication_items", "Fetch the authentication items of machines.", "machine"),
        ("serviceid_list", "List service ids.", "machine"),
        ("serviceid_add", "Add and change service ids.", "machine"),
        ("serviceid_delete", "Delete service ids.", "machine"),
        ("caconnectorread", "Read CA connector definitions.", "system"),
        ("caconnectorwrite", "Write CA connector definitions.", "system"),
        ("caconnectordelete", "Delete CA connector definitions.", "system"),
    ]
    return _rights(rights) + _custom_attribute_rights("The admin") + _pin_settings("admin")


def _user_rights() -> list[ActionDef]:
    token = "token"  # noqa: S105 - the web UI group, not a secret
    rights = [
        ("enable", "Enable own tokens.", token),
        ("disable", "Disable own tokens.", token),
        ("revoke", "Revoke own tokens.", token),
        ("reset", "Reset the fail counter of own tokens.", token),
        ("resync", "Resynchronise own tokens.", token),
        ("setpin", "Set the OTP PIN of own tokens.", "pin"),
        ("setdescription", "Set the description of own tokens.", token),
        ("set", "Set attributes of own tokens (Factorflow).", token),
        ("assign", "Assign unassigned tokens to oneself.", token),
        ("unassign", "Unassign own tokens.", token),
        ("delete", "Delete own tokens.", token),
        ("getchallenges", "List the challenges of own tokens (Factorflow).", token),
        ("auditlog", "Read own audit entries.", "system"),
        ("updateuser", "Update own user attributes.", "user"),
    ]
    return _rights(rights) + _custom_attribute_rights("The user") + _pin_settings("user")


def _custom_attribute_rights(who: str) -> list[ActionDef]:
    """privacyIDEA's string rights: which custom attributes may be set (``:key: v1 v2``,
    ``*`` for any key or value) and deleted (keys, ``*`` for any)."""
    return [
        ActionDef(
            name="set_custom_user_attributes", type="str", group="user", right=True,
            pattern=CUSTOM_SET_PATTERN, bare=":*: *", unique=False,
            desc=f"{who} may set these custom user attributes, e.g. ':department: sales "
            "finance :city: *' (':*: *' any attribute to any value).",
        ),
        ActionDef(
            name="delete_custom_user_attributes", type="str", group="user", right=True,
            pattern=r"^\S+(\s+\S+)*$", bare="*", unique=False,
            desc=f"{who} may delete these custom user attributes (blank separated, * any).",
        ),
    ]  # fmt: skip


def _pin_settings(scope: str) -> list[ActionDef]:
    """The values privacyIDEA keeps in the admin and user scopes: the rules for a PIN
    the admin (the user) sets, at enrolment or later, and forced enrolment values."""
    who = "the admin" if scope == "admin" else "the user"
    pin = "pin"
    return [
        ActionDef(name="otp_pin_minlength", type="int", minimum=0, maximum=31, group=pin,
                  desc=f"The minimum length of an OTP PIN {who} sets."),
        ActionDef(name="otp_pin_maxlength", type="int", minimum=0, maximum=31, group=pin,
                  desc=f"The maximum length of an OTP PIN {who} sets."),
        ActionDef(
            name="otp_pin_contents", type="str", pattern=PIN_CONTENTS_PATTERN, group=pin,
            desc="Character classes an OTP PIN needs: c letters, n digits, s specials "
            "(o others); +cn any of them, -s none of them, or [0123456789] a list of "
            "allowed characters.",
        ),
        ActionDef(name="otp_pin_set_random", type="int", minimum=1, maximum=31, group=pin,
                  desc=f"The length of a random PIN {who} sets (/token/setrandompin)."),
        ActionDef(name="otp_pin_random_content", type="str", pattern=r"^[cns]+$", group=pin,
                  desc="Classes of random PINs (Factorflow; default: otp_pin_contents, "
                  "else letters and digits)."),
        ActionDef(name="hotp_otplen", type="int", choices=("6", "8"), group="hotp",
                  desc=f"Force the OTP length of HOTP tokens {who} enrols."),
        ActionDef(name="hotp_hashlib", type="str", choices=HASHLIBS, group="hotp",
                  desc=f"Force the hash algorithm of HOTP tokens {who} enrols."),
        ActionDef(name="totp_otplen", type="int", choices=("6", "8"), group="totp",
                  desc=f"Force the OTP length of TOTP tokens {who} enrols."),
        ActionDef(name="totp_hashlib", type="str", choices=HASHLIBS, group="totp",
                  desc=f"Force the hash algorithm of TOTP tokens {who} enrols."),
        ActionDef(name="totp_timestep", type="int", choices=("30", "60"), group="totp",
                  desc=f"Force the time step of TOTP tokens {who} enrols."),
        ActionDef(name="daypassword_otplen", type="int", choices=("6", "8"),
                  group="daypassword",
                  desc=f"Force the OTP length of day password tokens {who} enrols."),
        ActionDef(name="daypassword_hashlib", type="str", choices=HASHLIBS, group="daypassword",
                  desc=f"Force the hash algorithm of day password tokens {who} enrols."),
        ActionDef(name="daypassword_timestep", type="str", pattern=r"^\d{1,9}[smhdySMHDY]?$",
                  group="daypassword",
                  desc=f"Force the time step of day password tokens {who} enrols: seconds "
                  "or a number with s, m, h, d or y (24h)."),
    ]  # fmt: skip


def _authentication() -> list[ActionDef]:
    return [
        ActionDef(
            name="otppin", type="str", choices=("tokenpin", "userstore", "none"),
            desc="What the PIN part of pass is: the token PIN, the user store password, "
            "or nothing.",
        ),
        ActionDef(
            name="passthru", type="str", choices=("userstore",), bare="userstore",
            desc="Users without tokens authenticate with their user store password "
            "(privacyIDEA's RADIUS configurations are not supported).",
        ),
        _b("passOnNoToken", "Users without tokens pass."),
        _b("passOnNoUser", "Unknown users pass."),
        ActionDef(
            name="challenge_response", type="str", multi=True, unique=False,
            desc="Token types (space separated) that answer a PIN alone with a challenge.",
        ),
        ActionDef(name="challenge_text", type="str", desc="The text of a challenge."),
        ActionDef(name="indexedsecret_count", type="int", minimum=1, maximum=100,
                  group="indexedsecret",
                  desc="How many positions of the secret an indexed secret token asks for "
                  "(default 2)."),
        ActionDef(name="indexedsecret_challenge_text", type="str", group="indexedsecret",
                  desc="The challenge of an indexed secret token; {0} stands for the "
                  "positions asked (a comma in the text is written \\,)."),
        ActionDef(name="question_number", type="int", minimum=1, maximum=30, group="question",
                  desc="How many questions of a questionnaire token must be answered in a "
                  "row (default 1)."),
        ActionDef(name="push_text_on_mobile", type="str", group="push",
                  desc="The question a push token's phone shows."),
        ActionDef(name="push_title_on_mobile", type="str", group="push",
                  desc="The title of the push notification."),
        ActionDef(name="push_ssl_verify", type="str", choices=("0", "1"), group="push",
                  desc="The phone verifies the server's certificate when it answers "
                  "(default 1)."),
        ActionDef(name="push_allow_polling", type="str", choices=("allow", "deny", "token"),
                  group="push",
                  desc="Whether push tokens may poll for their challenges: allow (default), "
                  "deny, or as each token's tokeninfo polling_allowed says."),
        _b("reset_all_user_tokens", "A successful authentication resets all fail counters."),
        ActionDef(
            name="auth_cache", type="str", pattern=AUTH_CACHE_PATTERN,
            desc="Accept the same pass again for this long after the first authentication "
            "(4h); optionally only while last used within a time (4h/5m) or at most N "
            "times (4h/3).",
        ),
    ]  # fmt: skip


def _authorization() -> list[ActionDef]:
    return [
        ActionDef(
            name="tokentype", type="str", multi=True, unique=False,
            desc="Token types (space separated) that may be used to log in.",
        ),
        ActionDef(name="serial", type="str", desc="A regular expression the serial must match."),
        ActionDef(name="setrealm", type="str", desc="Authenticate the user in this realm."),
        _b("no_detail_on_success", "Hide the detail of a successful authentication."),
        _b("no_detail_on_fail", "Hide the detail of a failed authentication."),
        _b("add_user_in_response", "Add the user's attributes to the detail."),
        _b("add_resolver_in_response", "Add the user's resolver and realm to the detail."),
        ActionDef(
            name="last_auth", type="str", pattern=DURATION_PATTERN,
            desc="Reject tokens not used successfully for longer than this (12h, 180d, 2y).",
        ),
        ActionDef(
            name="auth_max_success", type="str", pattern=RATE_PATTERN,
            desc="At most N successful authentications per window (e.g. 3/5m).",
        ),
        ActionDef(
            name="auth_max_fail", type="str", pattern=RATE_PATTERN,
            desc="At most N failed authentications per window (e.g. 3/1m).",
        ),
    ]  # fmt: skip


def _enrollment(token_types: Iterable[str]) -> list[ActionDef]:
    return [
        ActionDef(name="max_token_per_user", type="int", minimum=0, desc="Tokens per user."),
        ActionDef(name="max_token_per_realm", type="int", minimum=0, desc="Tokens per realm."),
        ActionDef(name="tokenissuer", type="str", desc="The issuer in the QR code."),
        ActionDef(name="tokenlabel", type="str", desc="The label in the QR code."),
        ActionDef(
            name="verify_enrollment", type="str", multi=True, choices=tuple(token_types),
            unique=False, desc="Token types whose enrolment must be verified with an OTP.",
        ),
        _b("change_pin_on_first_use", "The user must change the PIN after enrolment."),
        ActionDef(name="otpkey_minlength", type="int", minimum=1, maximum=64,
                  desc="The shortest OTP key (in bytes) an enrolment may supply "
                  "(Factorflow; without it any length, as privacyIDEA)."),
        ActionDef(name="losttoken_PW_length", type="int", minimum=1, maximum=31,
                  desc="Length of a lost token's temporary password (default 10)."),
        ActionDef(name="losttoken_PW_contents", type="str", pattern=r"^[cnsC8]+$",
                  desc="Characters of the temporary password: c lowercase, C uppercase "
                  "letters, n digits, s specials, 8 the Base58 alphabet (default Ccn)."),
        ActionDef(name="losttoken_valid", type="int", minimum=1, maximum=60,
                  desc="Days a lost token's replacement is valid (default 10)."),
        ActionDef(name="tantoken_count", type="int", minimum=1, maximum=1000,
                  desc="How many TANs a TAN token is enrolled with when the server "
                  "generates them (default 100)."),
        ActionDef(name="webauthn_relying_party_id", type="str", group="WebAuthn",
                  pattern=r"^[A-Za-z0-9.-]{1,253}$",
                  desc="The relying party id (a domain) of WebAuthn and passkey tokens."),
        ActionDef(name="webauthn_relying_party_name", type="str", group="WebAuthn",
                  desc="The relying party name the authenticator shows."),
        ActionDef(name="webauthn_authenticator_attestation_form", type="str",
                  choices=("direct", "indirect", "none"), group="WebAuthn",
                  desc="The attestation a WebAuthn enrolment asks for (default direct)."),
        ActionDef(name="webauthn_authenticator_attestation_level", type="str",
                  choices=("none", "untrusted", "trusted"), group="WebAuthn",
                  desc="The attestation a WebAuthn enrolment needs: none accepts any, "
                  "untrusted (default) refuses 'none' attestation, trusted needs a "
                  "certificate chain."),
        ActionDef(name="push_registration_url", type="str", pattern=r"^https?://\S{1,490}$",
                  group="push",
                  desc="The URL a push token's phone registers at (this server's /ttype/push)."),
        ActionDef(name="push_firebase_configuration", type="str", group="push",
                  desc="'poll only' (the phone polls), or the Firebase project id the "
                  "notifications go through."),
        ActionDef(name="push_ttl", type="int", minimum=1, maximum=1440, group="push",
                  desc="Minutes the push enrolment QR code is valid (default 10)."),
        ActionDef(name="push_ssl_verify", type="str", choices=("0", "1"), group="push",
                  desc="The phone verifies the server's certificate when it registers "
                  "(default 1)."),
        *_certificate_enrollment(),
    ]  # fmt: skip


def _certificate_enrollment() -> list[ActionDef]:
    """privacyIDEA's enrollment actions of certificate tokens (forced request values)."""
    group = "certificate"
    return [
        ActionDef(name="certificate_ca_connector", type="str", group=group,
                  desc="The CA connector that should be used during certificate enrollment."),
        ActionDef(name="certificate_template", type="str", group=group,
                  desc="The template that should be used to issue a certificate."),
        ActionDef(name="certificate_request_subject_component", type="str", multi=True,
                  choices=("email", "realm"), unique=False, group=group,
                  desc="Elements (space separated) added to the subject of a generated "
                  "key: email, realm."),
    ]  # fmt: skip


def _webui(token_types: Iterable[str]) -> list[ActionDef]:
    """privacyIDEA's ``webui`` scope: how the web UI behaves for whom it matches (the
    logged-in admin or user); ``POST /auth`` answers with the settings."""
    page = {"type": "int", "minimum": 1, "maximum": 500}
    return [
        ActionDef(name="login_mode", type="str", choices=("userstore", "privacyIDEA", "disable"),
                  desc="How users log in to the web UI: with their user store's password "
                  "(userstore, the default), with PIN and OTP of their tokens (privacyIDEA), "
                  "or not at all (disable)."),
        ActionDef(name="logout_time", type="int", minimum=10, maximum=7 * 24 * 3600,
                  desc="Seconds without activity after which the web UI ends the session "
                  "(default 120)."),
        ActionDef(name="timeout_action", type="str", choices=("lockscreen", "logout"),
                  desc="What the web UI does then: lock the screen until the password is "
                  "entered again (default), or log out."),
        ActionDef(name="jwt_validity", type="int", minimum=60, maximum=7 * 24 * 3600,
                  desc="Seconds the login's JWT is valid (default: the server's setting)."),
        ActionDef(name="audit_page_size", desc="Audit entries per page (default 10).", **page),
        ActionDef(name="token_page_size", desc="Tokens per page (default 15).", **page),
        ActionDef(name="user_page_size", desc="Users per page (default 15).", **page),
        ActionDef(name="default_tokentype", type="str", choices=tuple(token_types),
                  desc="The token type the enrolment form offers first (default hotp)."),
        _b("tokenwizard", "A user without a token is led to the enrolment wizard."),
        _b("tokenwizard_2nd_token", "The wizard also for users who have a token."),
        ActionDef(name="realm_dropdown", type="str", unique=False,
                  desc="Realms (space separated) the login form offers in a list."),
        _b("hide_buttons", "Hide the buttons of actions the admin or user may not do "
           "(default: shown, disabled)."),
        _b("hide_welcome", "Hide the welcome notice on the administrator's dashboard."),
        _b("user_details", "Show the owner's details (name, email) in the token list."),
        _b("deletion_confirmation", "Ask before deleting (tokens, definitions, ...)."),
        _b("search_on_enter", "Lists search when Enter is pressed, not on each key."),
        _b("show_seed", "Show the OTP key as text at enrolment (besides the QR code)."),
        _b("admin_dashboard", "Administrators start on the dashboard (privacyIDEA's flag)."),
        _b("dialog_no_token", "Tell a user who has no token (privacyIDEA's flag)."),
    ]  # fmt: skip


def _enroll_rights(token_types: Iterable[str]) -> list[ActionDef]:
    return [
        ActionDef(
            name=f"enroll{t.upper()}", desc=f"Enrol {t} tokens.", group="enrollment", right=True
        )
        for t in token_types
    ]


SCOPES = ("admin", "user", "authentication", "authorization", "enrollment", "webui")


@dataclass(frozen=True)
class Catalog:
    """Scopes → action name → definition; frozen once built at start-up."""

    scopes: Mapping[str, Mapping[str, ActionDef]]
    _rights: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def action(self, scope: str, name: str) -> ActionDef | None:
        return self.scopes.get(scope, {}).get(name)

    def describe(self, scope: str) -> dict[str, dict[str, object]]:
        return {name: d.describe() for name, d in sorted(self.scopes.get(scope, {}).items())}

    def rights(self, scope: str) -> frozenset[str]:
        """The actions of ``scope`` that grant something (admin and user scopes)."""
        if scope not in self._rights:
            defs = self.scopes.get(scope, {}).items()
            self._rights[scope] = frozenset(n for n, d in defs if d.right)
        return self._rights[scope]


def build_catalog(token_types: Iterable[str]) -> Catalog:
    types = sorted(token_types)
    lists = {
        "admin": _enroll_rights(types) + _admin_rights(),
        "user": _enroll_rights(types) + _user_rights(),
        "authentication": _authentication(),
        "authorization": _authorization(),
        "enrollment": _enrollment(types),
        "webui": _webui(types),
    }
    return Catalog({scope: {d.name: d for d in defs} for scope, defs in lists.items()})
