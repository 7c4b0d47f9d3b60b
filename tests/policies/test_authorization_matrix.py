"""The authorization matrix (issue 12 item 1): every admin endpoint that takes a user,
realm, serial or user store, run by a help desk whose admin policy grants every
right in realm ``alpha`` only, against objects in its realm, in realm ``beta``, in
both and in no realm, and for two-object endpoints the mixed combinations.

Each cell asserts allow or deny; a denied request must be a 403 that changed
nothing (tokens, owners, realms, PINs, groups, attributes, stores — the whole
:data:`~tests.policies.matrix_world.WORLD_TABLES` and the user stores). The rule
under test (``docs/security.md``, "Admin realm rights"): a token owned in alpha, a
spare token in alpha (also when shared with beta) or in no realm, a user, realm or
store of alpha only, may be touched; anything in beta may not.

:data:`MATRIX` must cover every route whose parameters name such objects: a new
route without cells fails :func:`test_the_matrix_covers_every_route_that_names_objects`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from factorflow.api.app import collect_routes
from factorflow.policies.rights import PUBLIC
from factorflow.policies.targets import OBJECT_PARAMS, declared_params
from tests.policies.conftest import policy_data, route_params
from tests.policies.matrix_world import (
    PAUSED,
    PIN,
    WORKFLOWS,
    World,
    build_world,
    login,
    store_options,
)
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX

Check = Callable[[Any], None]


@dataclass(frozen=True)
class Cell:
    params: dict[str, Any]
    allowed: bool
    #: The answer when allowed (a refusal by the domain after authorization is not a 403).
    status: int = 200
    check: Check | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    cells: tuple[Cell, ...]


#: One token of each kind, and whether the help desk of alpha may touch it.
TOKENS = (("A-OWN", True), ("A-SPARE", True), ("AB-SPARE", True), ("POOL", True),
          ("B-OWN", False), ("B-SPARE", False))  # fmt: skip
ALICE = {"user": "alice", "realm": "alpha"}
DAVE = {"user": "dave", "realm": "beta"}


def allow(status: int = 200, check: Check | None = None, **params: Any) -> Cell:
    return Cell(params, True, status, check)


def deny(**params: Any) -> Cell:
    return Cell(params, False)


def per_token(
    method: str, path: str, statuses: dict[str, int] | None = None, **extra: Any
) -> Endpoint:
    """One cell per token kind; ``statuses``: answers of allowed cells other than 200."""
    cells = tuple(
        Cell({"serial": serial, **extra}, allowed, (statuses or {}).get(serial, 200))
        for serial, allowed in TOKENS
    )
    return Endpoint(method, path, cells)


def by_user(method: str, path: str, **extra: Any) -> Endpoint:
    """Tokens selected by their owner."""
    return Endpoint(method, path, (allow(**ALICE, **extra), deny(**DAVE, **extra)))


def mixed(
    method: str, path: str, froms: tuple[tuple[str, bool], ...], status: dict[str, int]
) -> Endpoint:
    """Every ``from`` with every ``to`` over the kinds (owned in alpha, in no realm, owned in beta)."""
    tos = (("A-OWN2", True), ("POOL2", True), ("B-OWN2", False))
    cells = tuple(
        Cell({"from": source, "to": target}, ok_from and ok_to, status.get(source, 200))
        for source, ok_from in froms
        for target, ok_to in tos
    )
    return Endpoint(method, path, cells)


def _serials(body: Any) -> set[str]:
    return {t["serial"] for t in body["result"]["value"]["tokens"]}


def lists_nothing_of_beta(body: Any) -> None:
    assert "B-OWN" not in _serials(body)


def lists_no_link_of_beta(body: Any) -> None:
    assert not {link["serial"] for link in body["result"]["value"]} & {"B-OWN", "B-SPARE"}


def finds(serial: str | None) -> Check:
    def check(body: Any) -> None:
        assert body["result"]["value"]["serial"] == serial, body

    return check


def counts(number: int) -> Check:
    def check(body: Any) -> None:
        assert body["result"]["value"]["count"] == number, body

    return check


def only_alpha_entries(body: Any) -> None:
    entries = body["result"]["value"]["auditdata"]
    assert entries and {e["realm"] for e in entries} == {"alpha"}, entries


def lists_workflows(*ids: int) -> Check:
    def check(body: Any) -> None:
        assert sorted(w["id"] for w in body["result"]["value"]) == list(ids), body

    return check


def lists_paused(*ids: int) -> Check:
    def check(body: Any) -> None:
        assert sorted(p["id"] for p in body["result"]["value"]) == list(ids), body

    return check


HOTP = {"type": "hotp", "otpkey": RFC_KEY_HEX}
REDIS = {"kind": "redis", "url": "redis://127.0.0.1:6379/0", "stream_key": "ff-matrix"}
FROMS = (("A-OWN", True), ("POOL", True), ("B-OWN", False))
IN_MEMORY_STORE = store_options("sqlite://")
SEED_FILE = {"filename": "seeds.csv", "type": "oathcsv", "file": f"MX1, {RFC_KEY_HEX}"}


def seed_file_v2(login: str, realm: str) -> dict[str, str]:
    return {**SEED_FILE, "file": f"# version: 2\n{login}, , {realm}, MX2, {RFC_KEY_HEX}"}


#: Parameters left out of the test ids (the same in every cell of an endpoint).
HIDDEN = {*HOTP, *IN_MEMORY_STORE, *REDIS, "filename", "type"}

# fmt: off
MATRIX: tuple[Endpoint, ...] = (
    # -- enrolment, assignment -------------------------------------------------------
    Endpoint("POST", "/token/init", (
        allow(**HOTP),  # a new spare token in no realm
        allow(**HOTP, **ALICE, pin=PIN), deny(**HOTP, **DAVE, pin=PIN),
        allow(**HOTP, realm="alpha"), deny(**HOTP, realm="beta"),
        deny(**HOTP, **ALICE, tokenrealm="beta"), allow(**HOTP, **ALICE, tokenrealm="alpha"),
        # re-enrolment of an existing serial: its old state and its new owner count
        allow(**HOTP, serial="POOL"), allow(**HOTP, serial="POOL", **ALICE),
        deny(**HOTP, serial="POOL", **DAVE, pin=PIN), deny(**HOTP, serial="B-SPARE"),
        deny(**HOTP, serial="B-OWN"), allow(**HOTP, serial="AB-SPARE"),
        deny(**HOTP, serial="A-SPARE", **DAVE),
    )),
    Endpoint("POST", "/token/assign", (
        *(Cell({"serial": serial, **user, "pin": PIN}, ok_token and ok_user)
          for serial, ok_token in (("A-SPARE", True), ("AB-SPARE", True), ("POOL", True),
                                   ("B-SPARE", False))
          for user, ok_user in ((ALICE, True), (DAVE, False))),
        allow(400, serial="A-OWN", **ALICE),  # already assigned
        deny(serial="B-OWN", **ALICE),
    )),
    Endpoint("POST", "/token/realm/{serial}", (
        allow(serial="A-SPARE", realms="alpha"), deny(serial="A-SPARE", realms="alpha,beta"),
        allow(serial="A-SPARE", realms=""), allow(serial="POOL", realms="alpha"),
        deny(serial="POOL", realms="beta"), deny(serial="AB-SPARE", realms="alpha"),
        allow(serial="AB-SPARE", realms="alpha,beta"), deny(serial="A-OWN", realms="beta"),
        allow(serial="A-OWN", realms=""), deny(serial="B-SPARE", realms="alpha"),
        deny(serial="B-OWN", realms="beta"),
    )),
    Endpoint("POST", "/token/load/{filename}", (
        allow(**SEED_FILE, tokenrealms="alpha"), deny(**SEED_FILE, tokenrealms="beta"),
        deny(**SEED_FILE, tokenrealms="alpha,beta"), deny(**SEED_FILE),
        allow(**seed_file_v2("alice", "alpha"), tokenrealms="alpha"),
        deny(**seed_file_v2("dave", "beta"), tokenrealms="alpha"),
    )),
    per_token("POST", "/token/export", password="export-pass"),
    mixed("POST", "/token/copypin", FROMS, {}),
    mixed("POST", "/token/copyuser", FROMS, {"POOL": 400}),  # a spare has no owner to copy
    # -- one token ---------------------------------------------------------------------
    per_token("POST", "/token/enable/{serial}"),
    per_token("POST", "/token/disable/{serial}"),
    per_token("DELETE", "/token/{serial}"),
    per_token("POST", "/token/reset/{serial}"),
    per_token("POST", "/token/resync/{serial}", otp1=RFC4226_OTPS[0], otp2=RFC4226_OTPS[1]),
    per_token("POST", "/token/setpin/{serial}", otppin="9999"),
    per_token("POST", "/token/set/{serial}", description="changed"),
    per_token("POST", "/token/description/{serial}", description="changed"),
    per_token("POST", "/token/revoke/{serial}"),
    per_token("POST", "/token/setrandompin/{serial}"),
    per_token("POST", "/token/info/{serial}/{key}", key="note", value="x"),
    per_token("DELETE", "/token/info/{serial}/{key}", key="note"),
    per_token("POST", "/token/group/{serial}/{groupname}", groupname="grp"),
    per_token("DELETE", "/token/group/{serial}/{groupname}", groupname="grp"),
    per_token("POST", "/token/lost/{serial}",
              {"A-SPARE": 400, "AB-SPARE": 400, "POOL": 400}),
    per_token("POST", "/token/unassign"),
    # -- tokens by owner, and lists of serials -----------------------------------------
    by_user("POST", "/token/enable"),
    by_user("POST", "/token/disable"),
    by_user("POST", "/token/reset"),
    by_user("POST", "/token/set", description="changed"),
    Endpoint("POST", "/token/unassign", (
        allow(**ALICE), deny(**DAVE), deny(serial="A-OWN,B-OWN"), allow(serial="A-OWN,POOL"),
        deny(serials=["POOL", "B-SPARE"]),
    )),
    Endpoint("DELETE", "/token/", (
        allow(**ALICE), deny(**DAVE), deny(serial="A-OWN,B-OWN"), allow(serial="A-OWN,POOL"),
    )),
    # -- reading -------------------------------------------------------------------------
    Endpoint("GET", "/token/", (
        allow(**ALICE), deny(**DAVE), allow(realm="alpha"), deny(realm="beta"),
        deny(tokenrealm="beta"), allow(check=lists_nothing_of_beta, serial="B-OWN"),
    )),
    Endpoint("GET", "/token/challenges/", (allow(**ALICE), deny(**DAVE))),
    Endpoint("GET", "/token/challenges/{serial}", (allow(serial="B-OWN"),)),
    Endpoint("GET", "/token/getserial/{otp}", (
        # the spares of alpha (A-SPARE, AB-SPARE) are searched, B-SPARE is not
        allow(check=counts(2), otp=RFC4226_OTPS[0], serial="SPARE", count="1"),
        allow(check=finds("POOL2"), otp=RFC4226_OTPS[0], serial="POOL2"),
    )),
    Endpoint("POST", "/validate/triggerchallenge", (
        allow(**ALICE), deny(**DAVE), allow(serial="A-OWN"), allow(serial="POOL"),
        deny(serial="B-OWN"),
    )),
    Endpoint("GET", "/audit/", (
        allow(check=only_alpha_entries), allow(realm="alpha"), deny(realm="beta"),
        allow(serial="B-OWN"),
    )),
    Endpoint("GET", "/audit/{csvfile}", (
        allow(csvfile="audit.csv"), allow(csvfile="audit.csv", realm="alpha"),
        deny(csvfile="audit.csv", realm="beta"),
    )),
    Endpoint("POST", "/event/test", (
        allow(event="token_init", serial="A-OWN"), deny(event="token_init", serial="B-OWN"),
        allow(event="token_init", **ALICE), deny(event="token_init", **DAVE),
    )),
    Endpoint("POST", "/event/backtest", (  # names no object: the audit is not narrowed
        allow(days=1, definition={"event": "validate_check", "handlermodule": "Logging",
                                  "action": "logging"}),
    )),
    # -- event configuration (in no realm) and what workflows and paused runs act on -----
    Endpoint("GET", "/event/templates", (allow(),)),  # bodies to start from; nothing stored
    Endpoint("GET", "/eventstream/", (allow(),)),
    Endpoint("POST", "/eventstream/{identifier}", (allow(identifier="siem", **REDIS),)),
    Endpoint("DELETE", "/eventstream/{identifier}", (allow(404, identifier="nope"),)),
    Endpoint("GET", "/eventstream/export", (allow(format="json"),)),
    Endpoint("POST", "/eventstream/import", (allow(data="streams: []"),)),
    Endpoint("GET", "/event/workflows", (
        allow(check=lists_workflows(101, 102, 104, 106, 108)),
        allow(check=lists_workflows(101, 102, 104, 106, 108), state="running"),
    )),
    Endpoint("DELETE", "/event/workflows/{workflowid}", tuple(
        Cell({"workflowid": workflow_id}, allowed) for workflow_id, allowed in
        ((101, True), (102, True), (104, True), (108, True), (103, False), (105, False),
         (107, False), (109, False))
    )),
    Endpoint("GET", "/event/paused", (
        allow(check=lists_paused(202)), allow(check=lists_paused(202), state="paused"),
    )),
    Endpoint("POST", "/event/paused/{runid}/confirm", (
        allow(runid=202), deny(runid=201), deny(runid=203), deny(runid=204),
    )),
    Endpoint("DELETE", "/event/paused/{runid}", (
        allow(runid=202), deny(runid=201), deny(runid=203), deny(runid=204),
    )),
    Endpoint("GET", "/policy/check", (  # a question about a request, nothing touched
        allow(scope="admin", action="disable", **DAVE),
    )),
    Endpoint("POST", "/privacyideaserver/test_request", (  # a user of the remote server
        allow(404, identifier="nope", user="dave", password="secret"),
    )),
    Endpoint("POST", "/radiusserver/test_request", (  # a user of the RADIUS server
        allow(404, identifier="nope", username="dave", password="secret"),
    )),
    # -- users -----------------------------------------------------------------------------
    Endpoint("GET", "/user/", (
        allow(realm="alpha"), deny(realm="beta"), allow(**ALICE),
        deny(username="dave", realm="beta"),
    )),
    Endpoint("GET", "/user/count", (allow(realm="alpha"), deny(realm="beta"))),
    Endpoint("GET", "/user/attribute", (allow(**ALICE), deny(**DAVE))),
    # privacyIDEA checks no right here: the answer is what the policies allow for the user.
    Endpoint("GET", "/user/editable_attributes/", (allow(**ALICE), allow(**DAVE))),
    Endpoint("POST", "/user/attribute", (
        allow(**ALICE, key="team", value="red"), deny(**DAVE, key="team", value="red"),
    )),
    Endpoint("DELETE", "/user/attribute/{attrkey}/{username}/{realm}", (
        allow(attrkey="team", username="alice", realm="alpha"),
        deny(attrkey="team", username="dave", realm="beta"),
    )),
    Endpoint("POST", "/user/", (
        allow(user="newbie", resolver="res-a"), deny(user="newbie", resolver="res-b"),
        deny(user="newbie", resolver="res-ab"),  # a user of beta too
        allow(user="newbie", resolver="res-none"),
        deny(user="newbie", resolver="res-a", realm="beta"),
    )),
    Endpoint("PUT", "/user/", (
        allow(**ALICE, givenname="Alicia"), deny(**DAVE, givenname="Davide"),
        deny(user="sam", realm="alpha", givenname="Samuel"),  # sam is in beta too
        allow(user="bob", realm="alpha", resolver="res-a", givenname="Robert"),
        deny(user="dave", realm="alpha", resolver="res-b", givenname="Davide"),
    )),
    Endpoint("DELETE", "/user/{resolver}/{username}", (
        allow(resolver="res-a", username="bob"), deny(resolver="res-b", username="erin"),
        deny(resolver="res-ab", username="sam"), allow(resolver="res-none", username="nina"),
    )),
    # -- realms and user stores ---------------------------------------------------------
    Endpoint("POST", "/realm/{realm}", (
        allow(realm="alpha", resolvers="res-a,res-ab"), allow(realm="alpha", resolvers="res-a"),
        allow(realm="alpha", resolvers="res-a,res-ab,res-none"),
        deny(realm="alpha", resolvers="res-a,res-ab,res-b"),  # beta's users into alpha
        deny(realm="beta", resolvers="res-b"), deny(realm="gamma", resolvers="res-none"),
    )),
    Endpoint("DELETE", "/realm/{realm}", (
        allow(realm="alpha", delete_custom_attributes="1"),
        deny(realm="beta", delete_custom_attributes="1"),
    )),
    Endpoint("POST", "/defaultrealm/{realm}", (allow(realm="alpha"), deny(realm="beta"))),
    Endpoint("DELETE", "/defaultrealm", (allow(),)),  # the default realm is alpha
    Endpoint("GET", "/resolver/{resolver}", (allow(resolver="res-b"),)),  # censored, read
    Endpoint("GET", "/resolver/types", (allow(resolver="res-b"),)),  # the types: no store
    Endpoint("POST", "/resolver/{resolver}", tuple(
        Cell({"resolver": name, **IN_MEMORY_STORE}, allowed)
        for name, allowed in (("res-a", True), ("res-none", True), ("res-new", True),
                              ("res-b", False), ("res-ab", False))
    )),
    Endpoint("POST", "/resolver/test", (
        allow(resolver="res-a", **IN_MEMORY_STORE), deny(resolver="res-b", **IN_MEMORY_STORE),
    )),
    Endpoint("DELETE", "/resolver/{resolver}", (
        allow(resolver="res-none"), allow(400, resolver="res-a"),  # still in a realm
        deny(resolver="res-b"), deny(resolver="res-ab"),
    )),
    # -- machines: a link touches its token; "resolver" is a machine resolver -----------
    per_token("POST", "/machine/token", application="base"),
    per_token("POST", "/machine/tokenoption", {s: 404 for s, _ in TOKENS},
              application="ssh", user="root"),  # never attached for ssh
    per_token("DELETE", "/machine/token/{serial}/{application}/{mtid}",
              {s: 404 for s, _ in TOKENS}, application="ssh", mtid=999999),
    Endpoint("GET", "/machine/token", (
        allow(check=lists_no_link_of_beta), allow(check=lists_no_link_of_beta, serial="B-OWN"),
    )),
    Endpoint("GET", "/machine/", (allow(), allow(resolver="", hostname="x"))),
    Endpoint("GET", "/machine/applications", (allow(),)),
    Endpoint("GET", "/machine/authitem", (allow(400, user="root"),)),  # no hostname
    Endpoint("GET", "/machineresolver/", (allow(),)),
    Endpoint("GET", "/machineresolver/types", (allow(),)),
    Endpoint("POST", "/machineresolver/test", (
        allow(400, type="hosts", filename="/nonexistent/hosts"),
    )),
    Endpoint("POST", "/machineresolver/{resolver}", (
        allow(400, resolver="mres", type="hosts", filename="/nonexistent/hosts"),
    )),
    Endpoint("DELETE", "/machineresolver/{resolver}", (allow(404, resolver="nope"),)),
)
# fmt: on


def _cells() -> list[Any]:
    cells = []
    for endpoint in MATRIX:
        for cell in endpoint.cells:
            shown = " ".join(f"{k}={v}" for k, v in cell.params.items() if k not in HIDDEN)
            verdict = "allow" if cell.allowed else "deny"
            name = f"{endpoint.method} {endpoint.path} {shown} -> {verdict}"
            cells.append(pytest.param(endpoint, cell, id=name))
    return cells


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("matrix"), database_url)


def send(world: World, endpoint: Endpoint, params: dict[str, Any]) -> httpx.Response:
    rest = dict(params)
    path = re.sub(r"{(\w+)}", lambda m: str(rest.pop(m.group(1))), endpoint.path)
    if endpoint.method in ("GET", "DELETE"):
        return world.client.request(endpoint.method, path, params=rest, headers=world.helpdesk)
    return world.client.request(endpoint.method, path, json=rest, headers=world.helpdesk)


@pytest.mark.parametrize(("endpoint", "cell"), _cells())
def test_cell(world: World, endpoint: Endpoint, cell: Cell) -> None:
    response = send(world, endpoint, cell.params)
    after = world.snapshot()
    try:
        if cell.allowed:
            assert response.status_code == cell.status, response.text
            if cell.check is not None:
                cell.check(response.json())
        else:
            assert response.status_code == 403, response.text
            assert response.json()["result"]["error"]["code"] == 303, response.text
            changed = [name for name, rows in after.items() if rows != world.initial[name]]
            assert not changed, f"a refused request changed {changed}"
    finally:
        if after != world.initial:
            world.restore(world.initial)


def test_the_audit_download_holds_only_the_admins_realms(world: World) -> None:
    """The CSV is narrowed like ``GET /audit/``: the entries of alpha's users only."""
    listing = world.client.get("/audit/", headers=world.admin).json()["result"]["value"]
    columns = [name for name in listing["auditdata"][0] if name != "trace"]
    response = world.client.get("/audit/audit.csv", headers=world.helpdesk)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text), quotechar="'"))
    assert rows, "no entries of alpha"
    assert {row[columns.index("realm")] for row in rows} == {"alpha"}
    everything = world.client.get("/audit/audit.csv", headers=world.admin).text
    assert "'beta'" in everything  # the superuser's download is not narrowed


def test_the_superuser_is_not_limited(world: World) -> None:
    """The same requests the help desk is refused pass for the unrestricted admin."""
    for path, data in (("/token/assign", {"serial": "B-SPARE", **DAVE}),
                       ("/token/realm/POOL", {"realms": "beta"})):  # fmt: skip
        response = world.client.post(path, json=data, headers=world.admin)
        assert response.status_code == 200, response.text
    world.restore(world.initial)


def test_the_matrix_covers_every_route_that_names_objects() -> None:
    covered = {(e.method, e.path) for e in MATRIX}
    missing, known = [], set()
    for routes in collect_routes():
        for spec in routes.specs:
            keys = {(m, p) for m in spec.methods for p in spec.paths}
            known |= keys
            event = spec.endpoint.event
            names = (route_params(spec) | declared_params(event)) & OBJECT_PARAMS
            if event not in PUBLIC and names and not keys & covered:
                missing.append(f"{'/'.join(spec.methods)} {spec.paths[0]} ({event})")
    assert not missing, f"add cells for these routes to MATRIX: {missing}"
    assert covered <= known, f"MATRIX names routes that do not exist: {covered - known}"


def test_cells_have_distinct_ids() -> None:
    ids = [p.id for p in _cells()]
    assert len(ids) == len(set(ids))


def test_the_superuser_sees_and_decides_every_workflow_and_paused_run(world: World) -> None:
    """Unrestricted admins are not narrowed: every workflow, every paused run."""
    listing = world.client.get("/event/workflows", headers=world.admin).json()["result"]
    assert sorted(w["id"] for w in listing["value"]) == sorted(WORKFLOWS)
    paused = world.client.get("/event/paused", headers=world.admin).json()["result"]["value"]
    assert sorted(p["id"] for p in paused) == sorted(PAUSED)
    for method, path in (("POST", "/event/paused/201/confirm"), ("DELETE", "/event/paused/203"),
                         ("DELETE", "/event/workflows/105")):  # fmt: skip
        response = world.client.request(method, path, headers=world.admin)
        assert response.status_code == 200, response.text
    world.restore(world.initial)


def _as_post(definition: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in definition.items() if k not in ("options", "conditions")}
    data.update({f"option.{k}": v for k, v in definition["options"].items()})
    data["conditions"] = json.dumps(definition["conditions"])
    return data


def test_a_template_grants_nothing_beyond_reading(world: World) -> None:
    """``GET /event/templates`` is a read (``eventhandling_read``): an admin with only
    that right gets the bodies but cannot save one, and reading them stores nothing."""
    with world.services.sessions.begin() as session:
        world.services.admins.add(session, "reader", "reader-pass-1")
    data = policy_data({"scope": "admin", "action": "eventhandling_read", "adminuser": "reader",
                        "realm": "alpha"})  # fmt: skip
    assert world.client.post("/policy/reader", data=data, headers=world.admin).status_code == 200
    before = world.snapshot()
    try:
        reader = login(world.client, "reader", "reader-pass-1")
        response = world.client.get("/event/templates", headers=reader)
        assert response.status_code == 200, response.text
        templates = response.json()["result"]["value"]
        assert templates and world.snapshot() == before
        for template in templates:
            saved = world.client.post("/event", data=_as_post(template["definition"]),
                                      headers=reader)  # fmt: skip
            assert saved.status_code == 403, saved.text
            assert saved.json()["result"]["error"]["code"] == 303
        assert world.snapshot() == before
    finally:
        world.restore(world.initial)
