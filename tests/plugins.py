"""Plug-ins installed the way a third party ships them — a module and a distribution
whose entry points name its classes — into a directory on ``sys.path`` (the
``plugin_site`` fixture), and the worked examples of ``docs/plugins/``.

Factorflow finds plug-ins only through entry points, so a plug-in installed here is
seen by the next :func:`factorflow.bootstrap.build_services` exactly as one installed
with pip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).parents[1] / "docs" / "plugins"


@dataclass(frozen=True)
class Plugin:
    """A distribution of one module: ``entries`` maps entry-point names to
    ``module:Class`` within ``group``."""

    module: str
    source: str
    group: str
    entries: dict[str, str] = field(default_factory=dict)


def install(site: Path, plugin: Plugin) -> None:
    (site / f"{plugin.module}.py").write_text(plugin.source)
    dist = site / f"{plugin.module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {plugin.module}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in plugin.entries.items())
    (dist / "entry_points.txt").write_text(f"[{plugin.group}]\n{lines}")


def doc_example(name: str) -> str:
    """The one Python block of ``docs/plugins/<name>``: the worked example."""
    blocks: list[str] = re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)
    assert len(blocks) == 1, f"docs/plugins/{name} should hold exactly one Python example"
    return blocks[0]


#: The worked example of docs/plugins/event-handlers.md, by handler identifier.
EXAMPLE_HANDLERS = {
    "Greeting": Plugin(
        "acme_greeting",
        doc_example("event-handlers.md"),
        "factorflow.event_handlers",
        {"Greeting": "acme_greeting:GreetingHandler"},
    ),
}

#: A token type installed as a plug-in: an HOTP token (so a self-service type) with a
#: field of its own, ``device_label``, kept in the tokeninfo.
ACME_TOKEN_TYPE = Plugin(
    "acme_fob",
    '''"""Acme key fob: an HOTP token with a label printed on the device."""

from pydantic import Field

from factorflow.tokens.oath import OathInitParams
from factorflow.tokens.types.hotp import HotpToken


class AcmeInitParams(OathInitParams):
    device_label: str = Field(
        default="", max_length=64, title="Device label",
        description="The label printed on the key fob.",
    )


class AcmeToken(HotpToken):
    type_name = "acme"
    serial_prefix = "ACME"
    InitParams = AcmeInitParams

    def enroll(self, params, ctx):
        detail = super().enroll(params, ctx)
        self.set_info("device_label", params.device_label)
        return detail
''',
    "factorflow.token_types",
    {"acme": "acme_fob:AcmeToken"},
)
