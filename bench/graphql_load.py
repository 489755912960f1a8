"""The load process of bench/graphql: keep-alive HTTP/1.1 POSTs at a fixed concurrency.

A minimal client on asyncio streams (uvloop when installed), so that the client costs
as little CPU as possible on a shared machine and every server meets the same one.
Reads its job as JSON from argv[1]; prints its measurements as JSON.

The job's ``auth`` is either ``{"token": ...}`` (one token throughout) or ``{"fresh":
{"secret", "claims", "count"}}``: ``count`` tokens, each signed (HS256) with the claims
and a token id (``jti``) of its own, made before the clock starts and sent in turn, one
per request, so that no server has seen a token before (``count`` larger than the
servers' caches of verified tokens, so a token sent again has left them). The session
stays the one of the claims: the tokens of one signed-in client, whose session Atende
checks once per ATENDE_SESSION_CHECK_SECONDS, not a new session per request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import uvloop


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response: its status line and body (Content-Length or chunked)."""
    status_line = await reader.readline()
    length = -1
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status_line, await reader.readexactly(length)
    body = b""
    while size := int((await reader.readline()).strip(), 16):
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    await reader.readline()
    return status_line, body


def tokens(auth: dict[str, Any]) -> list[str]:
    if "token" in auth:
        return [str(auth["token"])]
    fresh = auth["fresh"]
    return [
        jwt.encode(
            {**fresh["claims"], "jti": str(uuid.uuid4())}, fresh["secret"], algorithm="HS256"
        )
        for _ in range(int(fresh["count"]))
    ]


async def one_connection(
    job: dict[str, Any],
    requests: Iterator[bytes],
    *,
    deadline: float,
    warm_until: float,
    out: dict[str, Any],
) -> None:
    reader, writer = await asyncio.open_connection(job["host"], job["port"])
    expect = job["expect"].encode()
    try:
        while time.perf_counter() < deadline:
            request = next(requests)
            started = time.perf_counter()
            writer.write(request)
            status_line, body = await read_response(reader)
            elapsed = time.perf_counter() - started
            if started < warm_until:
                continue
            if b" 200 " in status_line and expect in body:
                out["latencies"].append(elapsed)
            else:
                out["errors"] += 1
                if out["errors"] == 1:
                    out["first_error"] = (status_line + body[:300]).decode(errors="replace")
    finally:
        writer.close()


async def run(job: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(job["body"]).encode()
    head = [
        f"POST {job['path']} HTTP/1.1",
        f"Host: {job['host']}:{job['port']}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in job["headers"].items()),
    ]
    made = [
        ("\r\n".join([*head, f"Authorization: Bearer {token}"]) + "\r\n\r\n").encode() + body
        for token in tokens(job["auth"])
    ]
    # One sequence for all the connections: each request takes the next token.
    requests = itertools.cycle(made)
    now = time.perf_counter()
    warm_until = now + job["warmup"]
    deadline = warm_until + job["duration"]
    out: dict[str, Any] = {"latencies": [], "errors": 0}
    await asyncio.gather(
        *(
            one_connection(job, requests, deadline=deadline, warm_until=warm_until, out=out)
            for _ in range(job["concurrency"])
        )
    )
    latencies = sorted(out["latencies"])
    return {
        "requests": len(latencies),
        "errors": out["errors"],
        "first_error": out.get("first_error"),
        "duration": job["duration"],
        "tokens": len(made),
        "latencies_ms": [round(value * 1000, 3) for value in latencies],
    }


def main() -> None:
    job = json.loads(sys.argv[1])
    print(json.dumps(uvloop.run(run(job))))


if __name__ == "__main__":
    main()
