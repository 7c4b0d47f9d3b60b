"""The composition root: settings, engine, registries and services, built once and
handed to the API, the CLI and the worker. No module-level mutable state elsewhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from factorflow.admins.service import AdminService
from factorflow.audit.service import AuditService
from factorflow.auth.login import LoginService
from factorflow.auth.service import AuthService
from factorflow.auth.sessions import SessionGuard
from factorflow.auth.throttle import LoginThrottle, ThrottleRules
from factorflow.crypto import Hasher, SecretBox, ensure_key_file
from factorflow.db import versions
from factorflow.db.base import make_engine, make_session_factory, transaction
from factorflow.db.models import ConfigSetting
from factorflow.db.schema import upgrade
from factorflow.events.conditions import build_registry as build_conditions
from factorflow.events.dispatcher import Dispatcher
from factorflow.events.handlers import handler_classes
from factorflow.events.ports import ActionPorts, EventPorts
from factorflow.events.service import EventService
from factorflow.events.streams.service import StreamService
from factorflow.federation.checks import ForwardedChecks
from factorflow.federation.service import FederationService
from factorflow.jobs.base import Deliverer, DeliveryPorts
from factorflow.jobs.service import JobService
from factorflow.machines.base import MachineResolver
from factorflow.machines.service import MachineService
from factorflow.notify.service import NotifyService
from factorflow.pipeline import PipelinePorts
from factorflow.policies.actions import build_catalog
from factorflow.policies.decide import PolicyChallengeSelector
from factorflow.policies.prepolicy import PolicyEnrollment
from factorflow.policies.service import PolicyService
from factorflow.radius.service import RadiusService
from factorflow.registry import Registry
from factorflow.settings import Settings
from factorflow.system.documentation import SystemDocumentation
from factorflow.system.health import HealthService
from factorflow.system.service import SystemConfigService
from factorflow.tokens.base import TokenType
from factorflow.tokens.delivery import ChallengeOtps
from factorflow.tokens.helpdesk import TokenHelpdesk
from factorflow.tokens.service import TokenService
from factorflow.users.base import UserStore
from factorflow.users.service import UserService
from factorflow.users.web_settings import UserSettingsService
from factorflow.validate.service import ValidateService


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    hasher: Hasher
    audit: AuditService
    auth: AuthService
    admins: AdminService
    user_stores: Registry[UserStore]
    token_types: Registry[TokenType]
    users: UserService
    tokens: TokenService
    helpdesk: TokenHelpdesk
    validate: ValidateService
    events: EventService
    job_kinds: Registry[Deliverer]
    jobs: JobService
    notify: NotifyService
    #: The event streams (/eventstream/): every event as a CloudEvent to a broker.
    streams: StreamService
    policies: PolicyService
    federation: FederationService
    #: RADIUS server configurations (/radiusserver/), used by radius tokens.
    radius: RadiusService
    machine_resolvers: Registry[MachineResolver]
    #: Machine resolvers, service ids and token links (factorflow.machines).
    machines: MachineService
    #: POST /auth: admins and realm users, throttled (factorflow.auth.login).
    logins: LoginService
    #: Ends sessions before their JWT expires (factorflow.auth.sessions).
    session_guard: SessionGuard
    system: SystemConfigService
    #: The web UI settings of each principal (/user/settings).
    user_settings: UserSettingsService
    system_documentation: SystemDocumentation
    health: HealthService

    @cached_property
    def delivery_ports(self) -> DeliveryPorts:
        """What the job kinds' deliverers get (factorflow.jobs.base)."""
        return DeliveryPorts(
            sessions=self.sessions,
            box=self.box,
            settings=self.settings,
            resolve_payload=ChallengeOtps(self.sessions, self.token_types, self.box),
        )

    @cached_property
    def pipeline_ports(self) -> PipelinePorts:
        """What the request pipeline itself uses (factorflow.pipeline)."""
        return PipelinePorts(
            sessions=self.sessions,
            audit=self.audit,
            auth=self.auth,
            session_guard=self.session_guard,
            node_name=self.settings.node_name,
        )

    @cached_property
    def action_ports(self) -> ActionPorts:
        """What event actions get (factorflow.events.ports)."""
        return ActionPorts(
            users=self.users,
            tokens=self.tokens,
            helpdesk=self.helpdesk,
            token_types=self.token_types,
            jobs=self.jobs,
            admins=self.admins,
            box=self.box,
            remote_servers=self.federation,
            settings=self.settings,
            machines=self.machines,
        )

    @cached_property
    def event_ports(self) -> EventPorts:
        """What the event framework's dispatcher, scheduler and dry runs get."""
        return EventPorts(
            sessions=self.sessions,
            events=self.events,
            users=self.users,
            audit=self.audit,
            settings=self.settings,
            actions=self.action_ports,
            streams=self.streams,
        )

    @cached_property
    def events_dispatcher(self) -> Dispatcher:
        """The event framework's hook into the request pipeline."""
        return Dispatcher(self.event_ports)

    def close(self) -> None:
        self.users.close()
        self.audit.close()
        self.health.close()
        self.engine.dispose()


def stream_source(settings: Settings) -> str:
    """The CloudEvents ``source`` of this node's events."""
    base = settings.base_url.rstrip("/") or "urn:factorflow"
    return f"{base}/{settings.node_name}" if settings.node_name else base


#: privacyIDEA's PI_PEPPER, written by ``factorflow migrate privacyidea`` with its admins.
PI_PEPPER_FILE = "privacyidea.pepper"


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory and its key files with owner-only permissions."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(settings.data_dir, 0o700)
    ensure_key_file(settings.effective_encryption_key_file)
    ensure_key_file(settings.effective_jwt_secret_file, size=64)
    ensure_key_file(settings.effective_audit_key_file)


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    prepare_data_dir(settings)
    engine = make_engine(
        settings.effective_database_url,
        pool_size=settings.pool_size,
        lock_timeout=settings.database_lock_timeout_seconds,
    )
    if migrate:
        upgrade(engine)
    sessions = make_session_factory(engine)
    box = SecretBox(ensure_key_file(settings.effective_encryption_key_file))
    hasher = Hasher(
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
        threads=settings.argon2_threads or None,
    )
    user_stores = Registry.from_entry_points("factorflow.user_stores", UserStore)  # type: ignore[type-abstract]
    token_types = Registry.from_entry_points("factorflow.token_types", TokenType)
    job_kinds = Registry.from_entry_points("factorflow.job_kinds", Deliverer)  # type: ignore[type-abstract]
    machine_resolvers = Registry.from_entry_points("factorflow.machine_resolvers", MachineResolver)  # type: ignore[type-abstract]
    # The handler modules: one instance each, configured once, shared by every request.
    handlers = handler_classes().instances(lambda cls: cls.create(settings))
    users = UserService(sessions=sessions, box=box, stores=user_stores, settings=settings)
    policies = PolicyService(build_catalog(token_types), settings.config_reload_seconds)
    federation = FederationService(naming=EventService.naming)
    tokens = TokenService(
        box=box,
        hasher=hasher,
        types=token_types,
        users=users,
        settings=settings,
        enrollment=PolicyEnrollment(policies),
        remote_servers=ForwardedChecks(federation),
    )
    jobs = JobService(settings, job_kinds, box)
    admins = AdminService(hasher, settings.data_dir / PI_PEPPER_FILE)
    system = SystemConfigService(settings, box)
    events = EventService(
        sessions,
        handlers,
        settings.config_reload_seconds,
        box=box,
        conditions=build_conditions(),
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        box=box,
        hasher=hasher,
        audit=AuditService(
            sessions,
            ensure_key_file(settings.effective_audit_key_file),
            anchor_path=settings.effective_audit_anchor_file,
            node=settings.node_name,
        ),
        auth=AuthService(
            ensure_key_file(settings.effective_jwt_secret_file, size=64),
            settings.jwt_validity_seconds,
        ),
        admins=admins,
        user_stores=user_stores,
        token_types=token_types,
        users=users,
        tokens=tokens,
        helpdesk=TokenHelpdesk(tokens),
        validate=ValidateService(
            tokens=tokens,
            users=users,
            hasher=hasher,
            jobs=jobs,
            challenge_validity=settings.challenge_validity_seconds,
            selector=PolicyChallengeSelector(policies),
        ),
        events=events,
        job_kinds=job_kinds,
        jobs=jobs,
        notify=NotifyService(box),
        streams=StreamService(
            sessions,
            box,
            jobs,
            settings.config_reload_seconds,
            source=stream_source(settings),
            conditions=events.conditions,
            known_events=lambda: frozenset(events.available_events),
        ),
        policies=policies,
        federation=federation,
        radius=RadiusService(box),
        machine_resolvers=machine_resolvers,
        machines=MachineService(box, machine_resolvers, tokens, settings.config_reload_seconds),
        logins=LoginService(admins, users, LoginThrottle(ThrottleRules.from_settings(settings))),
        session_guard=SessionGuard(),
        system=system,
        system_documentation=SystemDocumentation(
            system, users, policies, admins, settings.node_name
        ),
        health=HealthService(engine, users),
        user_settings=UserSettingsService(),
    )
    if migrate:
        seal_plaintext_secrets(services)
    return services


#: Config key recording that secrets stored before they were sealed have been sealed.
SEALED_MARKER = "__secrets_sealed__"


def seal_plaintext_secrets(services: Services) -> None:
    """Encrypt the event definition and SMS gateway secrets that an older version
    stored in plaintext (a data migration run once, with the schema migrations: it
    needs the encryption key, which the schema migrations do not have)."""
    try:
        with transaction(services.sessions, write=True) as session:
            if versions.read_version(session, SEALED_MARKER):
                return
            services.events.seal_stored_secrets(session)
            services.notify.seal_stored_secrets(session)
            session.add(ConfigSetting(key=SEALED_MARKER, value="1"))
    except IntegrityError:
        pass  # another process starting at the same moment sealed them


def data_dir_exists(path: Path) -> bool:
    return (path / "encryption.key").exists()
