"""Which admin / user right each request event needs (privacyIDEA's action names).

Every event a route declares is in :data:`RIGHTS` (a test checks it): a new route
without an entry is refused to admins restricted by admin policies rather than
silently allowed. ``user=None`` means users keep Factorflow's defaults for that
event even when user policies exist (listing their own tokens, for example);
``admin=None`` likewise for admins.
"""

from __future__ import annotations

from dataclasses import dataclass

from factorflow.core.invocation import Invocation


@dataclass(frozen=True)
class Right:
    admin: str | None
    user: str | None = None


def _both(name: str) -> Right:
    return Right(name, name)


#: Events that never need a right (public endpoints; the caller is not an admin/user).
PUBLIC = frozenset(
    {"auth", "validate_check", "validate_poll_transaction", "validate_initialize",
     "validate_capabilities", "validate_offlinerefill", "auth_login_settings",
     # /ttype/push: the push token's phone, which proves itself with its key.
     "ttype"}
)  # fmt: skip

RIGHTS: dict[str, Right] = {
    # privacyIDEA: any logged-in admin or user; the answer is what their policies allow.
    "auth_rights": Right(None),
    # Like auth_rights: the types answered are those the caller's policies let it enrol.
    "token_types": Right(None),
    "token_assign": _both("assign"),
    "token_unassign": _both("unassign"),
    "token_enable": _both("enable"),
    "token_disable": _both("disable"),
    "token_revoke": _both("revoke"),
    "token_lost": Right("losttoken"),
    "token_getserial": Right("getserial"),
    "token_copypin": Right("copytokenpin"),
    "token_copyuser": Right("copytokenuser"),
    "token_setrandompin": Right("setrandompin"),
    "token_reset": _both("reset"),
    "token_resync": _both("resync"),
    "token_setpin": _both("setpin"),
    "token_set": _both("set"),
    "token_delete": _both("delete"),
    "token_info": Right("settokeninfo"),
    "token_realm": Right("tokenrealms"),
    "token_list": Right("tokenlist"),
    "token_getchallenges": _both("getchallenges"),
    "token_cancelchallenge": Right("cancelchallenge"),
    "token_load": Right("importtokens"),
    # Factorflow's PSKC export (privacyIDEA has none over the API).
    "token_export": Right("exporttokens"),
    "token_assign_group": Right("tokengroups"),
    "token_unassign_group": Right("tokengroups"),
    "tokengroup_list": Right("tokengroup_list"),
    "tokengroup_add": Right("tokengroup_add"),
    "tokengroup_delete": Right("tokengroup_delete"),
    "validate_triggerchallenge": Right("triggerchallenge"),
    "user_list": Right("userlist"),
    "user_count": Right("userlist"),
    "get_user_attribute": Right("userlist"),
    "user_add": Right("adduser"),
    "user_update": _both("updateuser"),
    "user_delete": Right("deleteuser"),
    "set_custom_user_attribute": _both("set_custom_user_attributes"),
    "delete_custom_user_attribute": _both("delete_custom_user_attributes"),
    # privacyIDEA checks no right here: the answer is what the caller's policies allow.
    "get_editable_attributes": Right(None),
    # The caller's own web UI settings: no right (privacyIDEA).
    "user_settings_get": Right(None),
    "user_settings_set": Right(None),
    "user_settings_delete": Right(None),
    "audit_list": _both("auditlog"),
    "audit_download": Right("auditlog_download"),
    "resolver_list": Right("resolverread"),
    "resolver_write": Right("resolverwrite"),
    "resolver_test": Right("resolverwrite"),
    "resolver_delete": Right("resolverdelete"),
    # privacyIDEA: admin authentication only, no right (a type's defaults, no data).
    "resolver_defaults": Right(None),
    "realm_list": Right("configread"),
    "realm_write": Right("configwrite"),
    "realm_delete": Right("configdelete"),
    "defaultrealm_get": Right("configread"),
    "defaultrealm_set": Right("configwrite"),
    "defaultrealm_delete": Right("configdelete"),
    "policy_list": Right("policyread"),
    "policy_check": Right("policyread"),
    "policy_write": Right("policywrite"),
    "policy_enable": Right("policywrite"),
    "policy_disable": Right("policywrite"),
    "policy_delete": Right("policydelete"),
    "event_list": Right("eventhandling_read"),
    "event_test": Right("eventhandling_read"),
    "event_write": Right("eventhandling_write"),
    "event_enable": Right("eventhandling_write"),
    "event_disable": Right("eventhandling_write"),
    "event_delete": Right("eventhandling_write"),
    "eventstream_list": Right("eventstream_read"),
    "eventstream_write": Right("eventstream_write"),
    "eventstream_delete": Right("eventstream_write"),
    "event_workflow_list": Right("eventhandling_read"),
    "event_workflow_cancel": Right("eventhandling_write"),
    "event_paused_list": Right("eventhandling_read"),
    "event_paused_confirm": Right("eventhandling_write"),
    "event_paused_cancel": Right("eventhandling_write"),
    "smtpserver_list": Right("smtpserver_read"),
    "smtpserver_write": Right("smtpserver_write"),
    "smtpserver_test": Right("smtpserver_write"),
    "smtpserver_delete": Right("smtpserver_write"),
    "privacyideaserver_list": Right("privacyideaserver_read"),
    "privacyideaserver_write": Right("privacyideaserver_write"),
    "privacyideaserver_test": Right("privacyideaserver_write"),
    "privacyideaserver_delete": Right("privacyideaserver_write"),
    "radiusserver_list": Right("radiusserver_read"),
    "radiusserver_write": Right("radiusserver_write"),
    "radiusserver_test": Right("radiusserver_write"),
    "radiusserver_delete": Right("radiusserver_write"),
    "smsgateway_list": Right("smsgateway_read"),
    "smsgateway_write": Right("smsgateway_write"),
    "smsgateway_test": Right("smsgateway_write"),
    "smsgateway_delete": Right("smsgateway_write"),
    "system_list": Right("configread"),
    "system_write": Right("configwrite"),
    "system_delete": Right("configdelete"),
    "system_documentation": Right("system_documentation"),
    "system_random": Right("getrandom"),
    # privacyIDEA: any administrator (admin_required, no policy action).
    "system_nodes": Right(None),
    "jobs_list": Right("jobs_read"),
    "job_get": Right("jobs_read"),
    "job_retry": Right("jobs_write"),
    "job_discard": Right("jobs_write"),
    "machineresolver_list": Right("machineresolverread"),
    "machineresolver_write": Right("machineresolverwrite"),
    "machineresolver_test": Right("machineresolverwrite"),
    "machineresolver_delete": Right("machineresolverdelete"),
    "machine_list": Right("machinelist"),
    "machine_token_attach": Right("manage_machine_tokens"),
    "machine_token_detach": Right("manage_machine_tokens"),
    "machine_token_list": Right("manage_machine_tokens"),
    "machine_tokenoption": Right("manage_machine_tokens"),
    "machine_authitem": Right("fetch_authentication_items"),
    "serviceid_list": Right("serviceid_list"),
    "serviceid_add": Right("serviceid_add"),
    "serviceid_delete": Right("serviceid_delete"),
    "caconnector_read": Right("caconnectorread"),
    "caconnector_crl": Right("caconnectorread"),
    "caconnector_write": Right("caconnectorwrite"),
    "caconnector_delete": Right("caconnectordelete"),
    # Logging out needs no right: any principal may end its own session.
    "auth_logout": Right(None, None),
    "auth_lockout_list": Right("loginlockout_read"),
    "auth_lockout_delete": Right("loginlockout_write"),
}


def required_right(inv: Invocation) -> Right | None:
    """The right ``inv`` needs; None for unknown events (refused when policies exist)."""
    if inv.event == "token_init":
        kind = str(inv.params.get("type") or "hotp").strip().upper()
        return _both(f"enroll{kind}")
    if inv.event == "token_set" and inv.rule.startswith("/token/description"):
        return _both("setdescription")
    return RIGHTS.get(inv.event)
