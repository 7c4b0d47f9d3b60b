"""What the handler contract (``test_handler_contract.py``) needs to know about each
registered handler module beyond what the module declares itself.

* ``setup``: configuration the module's options name (an SMTP server, a script);
* ``options``: valid options of an action where the contract's guesses (the first
  choice, the minimum, ``"contract"`` for a text) are not valid;
* ``failures``: the module's dependencies and how the contract makes each fail —
  every module that can run without the outside world meets an unreachable user
  store, and those that talk to the outside world meet it refusing;
* ``domain_rules``: the tests that hold the module to the domain's rules, as
  ``path::test`` (they run where they are; the contract checks that they exist).

A module registered under ``factorflow.event_handlers`` without an adapter here fails
the contract, naming it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.handlers.base import EventHandler
from tests import factories

H = dict[str, str]
SCRIPT = "contract-script"


@dataclass(frozen=True)
class World:
    """What an adapter may use: the API as an admin and the services behind it."""

    client: TestClient
    headers: H
    services: Services

    @property
    def script_directory(self) -> Path:
        return self.services.settings.effective_script_directory


def dead_port() -> int:
    """A loopback port nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _nothing(world: World) -> None:
    del world


@dataclass(frozen=True)
class Failure:
    """One dependency of a module failing while a definition of ``action`` runs on
    ``/validate/check``. ``outcome`` is what the module does about it:

    * ``fails``: the action raises — audited with success false and the exception
      class, the request answers as without the definition, abort_on_error aborts it;
    * ``job fails``: the action queues a durable job and succeeds; the job's attempt
      fails and is audited by the worker, linked to the request;
    * ``unaffected``: the action does not need the dependency and succeeds.
    """

    dependency: str
    action: str
    outcome: Literal["fails", "job fails", "unaffected"]
    options: Mapping[str, str] = field(default_factory=dict)
    #: Makes the dependency fail, once the definition is saved.
    break_it: Callable[[World], None] = _nothing
    #: The realm of the request's user (``down``: an LDAP directory nobody answers for).
    realm: str = "realm1"


def users_unreachable(
    action: str, outcome: Literal["fails", "unaffected"], **options: str
) -> Failure:
    return Failure("user store", action, outcome, options, realm="down")


@dataclass(frozen=True)
class HandlerAdapter:
    domain_rules: tuple[str, ...]
    failures: tuple[Failure, ...]
    setup: Callable[[World], None] = _nothing
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _smtp_and_sms(world: World) -> None:
    factories.add_smtp_server(world.client, world.headers, "contract-mail", dead_port())
    factories.add_sms_gateway(
        world.client, world.headers, "contract-sms", f"http://127.0.0.1:{dead_port()}/send"
    )


def _remote(world: World) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    factories.add_remote_server(world.client, world.headers, "contract-remote", url)


def _script(world: World) -> None:
    world.script_directory.mkdir(parents=True, exist_ok=True)
    path = world.script_directory / SCRIPT
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def _break_script(world: World) -> None:
    # Still an executable file of the directory, so the definition still loads, but
    # not a program the kernel can start.
    (world.script_directory / SCRIPT).write_bytes(b"\x00\x01 not a program\n")


HANDLERS = "tests/events/test_handlers.py"
NOTIFY = "tests/notify/test_user_notification.py"
WEBHOOK_URL = "http://127.0.0.1:9/hook"

ADAPTERS: dict[str, HandlerAdapter] = {
    "Counter": HandlerAdapter(
        domain_rules=(f"{HANDLERS}::test_counter_actions",),
        failures=(users_unreachable("increase_counter", "unaffected"),),
    ),
    "CustomUserAttributes": HandlerAdapter(
        domain_rules=(
            f"{HANDLERS}::test_custom_user_attributes",
            "tests/policies/test_custom_attributes.py::test_admin_policy_values_decide_keys_and_values",
        ),
        failures=(users_unreachable("set_custom_user_attributes", "fails"),),
    ),
    "Federation": HandlerAdapter(
        domain_rules=(
            "tests/federation/test_forward.py::test_only_failed_local_checks_are_forwarded",
            "tests/federation/test_forward.py::test_an_unreachable_remote_fails_the_request_clearly",
        ),
        setup=_remote,
        options={"forward": {"privacyIDEA": "contract-remote"}},
        # A forward reads no user; what it needs is the remote.
        failures=(Failure("remote server", "forward", "fails"),),
    ),
    "Logging": HandlerAdapter(
        domain_rules=(f"{HANDLERS}::test_logging",),
        failures=(users_unreachable("logging", "unaffected", message="{givenname} {username}"),),
    ),
    "RequestMangler": HandlerAdapter(
        domain_rules=(f"{HANDLERS}::test_request_mangler",),
        failures=(
            users_unreachable("set", "unaffected", parameter="user", value="bob", reset_user="1"),
        ),
    ),
    "ResponseMangler": HandlerAdapter(
        domain_rules=(f"{HANDLERS}::test_response_mangler_options_are_checked",),
        options={
            "delete": {"JSON pointer": "/detail/contract"},
            "set": {"JSON pointer": "/detail/contract", "type": "string", "value": "x"},
        },
        failures=(users_unreachable("delete", "unaffected", **{"JSON pointer": "/detail/x"}),),
    ),
    "Script": HandlerAdapter(
        domain_rules=(
            "tests/events/test_script.py::test_refused_names_on_save",
            "tests/events/test_script.py::test_tag_like_and_shell_metacharacters_are_plain_arguments",
            "tests/events/test_script.py::test_a_hanging_script_is_killed_at_the_timeout",
        ),
        setup=_script,
        failures=(
            Failure("script", SCRIPT, "fails", break_it=_break_script),
            users_unreachable(SCRIPT, "unaffected", user="1", realm="1"),
        ),
    ),
    "Token": HandlerAdapter(
        domain_rules=(
            f"{HANDLERS}::test_token_enable_obeys_revocation",
            f"{HANDLERS}::test_token_random_pin_obeys_the_pin_rules_of_the_type",
            "tests/policies/test_enrollment_hook.py::test_token_handler_enroll_obeys_max_token_per_user_unless_told_not_to",
            "tests/machines/test_attach_event.py::test_an_attachment_that_fails_leaves_the_enrolment",
        ),
        options={
            "enroll": {"tokentype": "hotp"},
            "change failcounter": {"change fail counter": "+1"},
            "attach application": {"application": "offline"},
        },
        failures=(users_unreachable("disable", "fails"),),
    ),
    "UserNotification": HandlerAdapter(
        domain_rules=(
            f"{NOTIFY}::test_no_recipient_is_an_audited_failure",
            f"{NOTIFY}::test_flood_control_per_recipient",
            f"{NOTIFY}::test_template_from_the_template_directory_and_links_refused",
        ),
        setup=_smtp_and_sms,
        options={
            "sendmail": {"emailconfig": "contract-mail"},
            "sendsms": {"smsconfig": "contract-sms"},
            "savefile": {"body": "contract", "filename": "contract.txt"},
        },
        failures=(
            Failure("SMTP server", "sendmail", "job fails", {"emailconfig": "contract-mail"}),
            users_unreachable("sendmail", "fails", emailconfig="contract-mail"),
        ),
    ),
    "WebHook": HandlerAdapter(
        domain_rules=(
            "tests/events/test_webhook.py::test_non_2xx_answers_are_retried",
            "tests/events/test_webhook.py::test_secrets_are_redacted_in_the_audit_detail",
        ),
        options={"post_webhook": {"URL": WEBHOOK_URL}},
        failures=(
            Failure("receiver", "post_webhook", "job fails", {"URL": WEBHOOK_URL, "data": "{}"}),
            users_unreachable("post_webhook", "unaffected", URL=WEBHOOK_URL),
        ),
    ),
    # The worked example of docs/plugins/event-handlers.md (tests.plugins).
    "Greeting": HandlerAdapter(
        domain_rules=(
            "tests/events/test_plugin_example.py::test_the_documented_module_installs_and_runs",
        ),
        # Without its user the check fails: there is no successful answer to greet in.
        failures=(users_unreachable("greet", "fails"),),
    ),
}


def adapter_for(module: str, handler: EventHandler) -> HandlerAdapter:
    """The adapter of a registered module (its instance ``handler``); fails the test,
    naming it, without one."""
    adapter = ADAPTERS.get(module)
    if adapter is None:
        cls = type(handler)
        pytest.fail(
            f"handler module {module!r} ({cls.__module__}.{cls.__qualname__}) is "
            "registered but has no adapter in tests/events/handler_adapters.py: add one so "
            "that the contract suite can save its definitions and break its dependencies",
            pytrace=False,
        )
    return adapter
