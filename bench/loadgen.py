"""Closed-loop HTTP/1.1 load generator, run as its own process.

``python -m bench.loadgen SPEC.json OUT.json``: K connections, each a sequential loop
of POST requests for a fixed duration. Each connection owns its own tokens, so a token
never has two requests in flight and every one-time password is used exactly once (its
counter only moves forward). The client is a minimal asyncio HTTP/1.1 implementation
(keep-alive when the server allows it, reconnect when it says ``Connection: close``),
much cheaper per request than a general-purpose client, so it takes little CPU away
from the server it measures on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import resource
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.hotp import hotp, wrong_otp

MODES = ("check_ok", "check_wrong", "unknown_user", "token_init")


@dataclass
class TokenState:
    user: str
    realm: str
    pin: str
    key: bytes
    counter: int


@dataclass
class Totals:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    status: dict[str, int] = field(default_factory=dict)
    last_done: float = 0.0


class Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = False
        close = lines[0].startswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif lname == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        elif length >= 0:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body


def build_request(spec: dict[str, Any], form: dict[str, str]) -> bytes:
    body = urlencode(form).encode()
    headers = [
        f"POST {spec['path']} HTTP/1.1",
        f"Host: {spec['host']}:{spec['port']}",
        "User-Agent: factorflow-bench",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
    ]
    headers.extend(f"{k}: {v}" for k, v in spec.get("headers", {}).items())
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def next_form(
    spec: dict[str, Any], tokens: list[TokenState], i: int, conn_id: int
) -> dict[str, str]:
    mode = spec["mode"]
    if mode == "unknown_user":
        return {"user": f"nosuchuser{conn_id}x{i}", "realm": spec["realm"], "pass": "1234123456"}
    if mode == "token_init":
        return {
            "type": "hotp",
            "otpkey": secrets.token_hex(20),
            "pin": "1234",
            "serial": f"{spec['serial_prefix']}{conn_id}x{i}",
        }
    token = tokens[i % len(tokens)]
    if mode == "check_ok":
        otp = hotp(token.key, token.counter)
        token.counter += 1
    else:
        otp = wrong_otp(token.key, token.counter)
    return {"user": token.user, "realm": token.realm, "pass": token.pin + otp}


async def connection_loop(
    spec: dict[str, Any],
    *,
    conn_id: int,
    tokens: list[TokenState],
    deadline: float,
    expect: re.Pattern[bytes],
    totals: Totals,
) -> None:
    conn = Connection(spec["host"], spec["port"], spec.get("timeout", 30.0))
    i = 0
    # Paced (open-loop) mode: each connection sends at a fixed interval, and latency is
    # counted from the intended send time, so a stall is not hidden by waiting for it.
    interval = spec["connections"] / spec["rate"] if spec.get("rate") else 0.0
    intended = time.perf_counter() + interval * conn_id / spec["connections"]
    while time.perf_counter() < deadline:
        if interval:
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() >= deadline:
                break
        raw = build_request(spec, next_form(spec, tokens, i, conn_id))
        i += 1
        start = min(intended, time.perf_counter()) if interval else time.perf_counter()
        intended += interval
        try:
            status, body = await asyncio.wait_for(conn.request(raw), conn.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            totals.errors += 1
            await conn.close()
            await asyncio.sleep(0.01)
            continue
        done = time.perf_counter()
        totals.latencies.append(done - start)
        totals.last_done = done
        key = str(status)
        totals.status[key] = totals.status.get(key, 0) + 1
        if expect.search(body):
            totals.ok += 1
        elif totals.status.get("sample_bad") is None:
            totals.status["sample_bad"] = 1
            print(f"unexpected response {status}: {body[:300]!r}", file=sys.stderr)
    await conn.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["mode"] not in MODES:
        raise SystemExit(f"unknown mode {spec['mode']}")
    tokens = [
        TokenState(t["user"], t["realm"], t["pin"], bytes.fromhex(t["key_hex"]), t["counter"])
        for t in spec.get("tokens", [])
    ]
    k = int(spec["connections"])
    if spec["mode"] in ("check_ok", "check_wrong") and len(tokens) < k:
        raise SystemExit("need at least one token per connection")
    expect = re.compile(spec["expect"].encode())
    totals = Totals()
    start = time.perf_counter()
    deadline = start + float(spec["duration"])
    await asyncio.gather(
        *(
            connection_loop(
                spec,
                conn_id=j,
                tokens=tokens[j::k],
                deadline=deadline,
                expect=expect,
                totals=totals,
            )
            for j in range(k)
        )
    )
    elapsed = max(totals.last_done, deadline) - start if totals.latencies else 0.0
    lat = sorted(totals.latencies)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    n = len(lat)
    return {
        "requests": n,
        "ok": totals.ok,
        "errors": totals.errors,
        "status": totals.status,
        "elapsed_s": elapsed,
        "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p90_ms": percentile(lat, 0.90) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "max_ms": (lat[-1] * 1000) if lat else 0.0,
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
        "counters": [t.counter for t in tokens],
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    try:
        import uvloop

        result = uvloop.run(run(spec))
    except ImportError:
        result = asyncio.run(run(spec))
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
