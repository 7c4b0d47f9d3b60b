"""An API worker imports what it uses: no LDAP client, HTTP client or QR encoder until
a resolver, a delivery or an enrolment needs one (memory per worker is a target of
``docs/performance.md``). Each probe runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAZY = (
    "ldap3", "httpx", "segno", "passlib", "rich", "click", "alembic",
    "cloudevents", "nats", "pika", "redis", "paho",
)  # fmt: skip


def probe(tmp_path: Path, code: str) -> dict[str, bool]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FACTORFLOW_")}
    env["FACTORFLOW_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_a_new_worker_has_not_imported_what_it_does_not_use(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "import factorflow.api.asgi as asgi\n"
        "asgi.create()\n"
        f"print(json.dumps({{name: name in sys.modules for name in {LAZY!r}}}))\n"
    )
    assert probe(tmp_path, code) == dict.fromkeys(LAZY, False)


def test_a_plugin_module_is_imported_when_first_asked_for(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from factorflow.registry import Registry\n"
        "from factorflow.users.base import UserStore\n"
        "stores = Registry.from_entry_points('factorflow.user_stores', UserStore)\n"
        "before = 'ldap3' in sys.modules\n"
        "known = 'ldapresolver' in stores\n"
        "after_name = 'ldap3' in sys.modules\n"
        "stores['ldapresolver']\n"
        "print(json.dumps({'before': before, 'known': known, 'after_name': after_name,\n"
        "                  'after_use': 'ldap3' in sys.modules}))\n"
    )
    assert probe(tmp_path, code) == {
        "before": False, "known": True, "after_name": False, "after_use": True,
    }  # fmt: skip
