"""A small, cheap HTTP/1.1 load generator (keep-alive connections, no parsing beyond the
status line and Content-Length), so the client takes little of the CPU it shares with the
servers it measures. Open loop: requests leave on a fixed schedule whatever the answers
do, and a latency counts from the scheduled time (no coordinated omission)."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        self.writer.write(head + body)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


class Client:
    """POSTs JSON to one base URL over a pool of keep-alive connections."""

    def __init__(self, base_url: str, headers: dict[str, str]):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[Connection] = []
        self.opened = 0

    async def post(self, path: str, payload: Any) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{self.extra}\r\n").encode()
        while self.idle:
            conn = self.idle.pop()
            try:
                answer = await conn.request(head, body)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed this idle keep-alive connection (uvicorn does after
                # 5 s) before reading the request: send it on another one.
                conn.writer.close()
                continue
            self.idle.append(conn)
            return answer
        conn = Connection(*await asyncio.open_connection(self.host, self.port))
        self.opened += 1
        try:
            answer = await conn.request(head, body)
        except BaseException:
            conn.writer.close()
            raise
        self.idle.append(conn)
        return answer

    async def close(self) -> None:
        for conn in self.idle:
            conn.writer.close()
        self.idle.clear()


@dataclass
class Latencies:
    ms: list[float]  # math.inf for a request not answered in time
    errors: int
    seconds: float

    @property
    def unanswered(self) -> int:
        return sum(1 for x in self.ms if math.isinf(x))

    def q(self, p: int) -> float:
        return statistics.quantiles(self.ms, n=100, method="inclusive")[p - 1]

    def show(self, p: int) -> str:
        value = self.q(p)
        return f"p{p} {value:.1f} ms" if math.isfinite(value) else f"p{p} unanswered after {self.seconds:.0f} s"

    @property
    def p50(self) -> float:
        return self.q(50)

    @property
    def p99(self) -> float:
        return self.q(99)


async def open_loop(send: Callable[[int], Any], rate: float, seconds: float, grace: float = 10.0) -> Latencies:
    """Call `send(i)` (an awaitable returning the HTTP status) `rate` times a second for
    `seconds`; a latency runs from when the request was due to when its answer came."""
    count = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()

    async def one(i: int, due: float) -> None:
        nonlocal errors
        status = await send(i)
        if status >= 400:
            errors += 1
        latencies.append((time.perf_counter() - due) * 1000)

    tasks = []
    for i in range(count):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    # A server that cannot keep up would make the backlog drain for minutes: what is not
    # answered `grace` seconds after the last request was due counts as not answered.
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    latencies += [math.inf] * len(late)
    return Latencies(latencies, errors + len(late), time.perf_counter() - started)


async def closed_loop(send: Callable[[int], Any], concurrency: int, seconds: float, first: int = 0) -> tuple[float, int]:
    """`concurrency` callers sending back to back for `seconds`: (answers per second, errors)."""
    done = errors = 0
    counter = iter(range(first, first + 10_000_000))
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            status = await send(next(counter))
            done += 1
            errors += status >= 400

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return done / (time.perf_counter() - started), errors
