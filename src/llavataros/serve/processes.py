"""``llavataros serve --processes N``: one listening socket, N server processes.

A stream push is mostly Python work (the model's many small operations, features, the face,
the assembly), which holds the interpreter lock, so threads of one process share a single core
however many the machine has: on the 2-core machine one process holds 4 streams within the
latency target and 8 fall far behind. Processes each have their own lock.

The parent process loads nothing: it accepts connections and hands each socket to the worker
process with the fewest open streams (the streams last long, so balance matters more than for
web requests; a shared socket or ``SO_REUSEPORT`` would leave that to chance). A worker is a
whole server (:func:`~llavataros.serve.server.make_app` over its own copy of the models, its
own batcher): it adopts the socket with ``loop.connect_accepted_socket`` and serves the
connection from the HTTP request on, exactly as the one-process server does. Workers tell the
parent their open stream count whenever it changes. A worker that dies (a crash, the kernel's
out-of-memory killer) takes only its own connections with it; the parent starts another.

Parent <-> worker, over a Unix socket pair: the parent sends one byte with the connection's
file descriptor (``socket.send_fds``); the worker sends text lines, ``ready``, ``streams N``,
or ``error MESSAGE`` when it cannot load its models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from llavataros.errors import InputError
from llavataros.serve import banner

log = logging.getLogger(__name__)

MAX_DEFAULT_PROCESSES = 4  # each holds its own models (about 0.6 GB resident)
RECENT_S = 2.0  # a connection handed over counts as a stream this long (until it reports)


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_processes() -> int:
    """One server process per usable core, at most ``MAX_DEFAULT_PROCESSES``."""
    return min(usable_cores(), MAX_DEFAULT_PROCESSES)


@dataclass
class Worker:
    """The parent's view of one worker process."""

    process: Any
    channel: socket.socket
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None  # unused, but dropping it closes the socket
    streams: int = 0  # as last reported
    handed: list[float] = field(default_factory=list)  # times connections were handed over
    alive: bool = True

    def load(self, now: float) -> int:
        """Open streams as reported, plus connections handed over too recently to show."""
        self.handed = [t for t in self.handed if now - t < RECENT_S]
        return self.streams + len(self.handed)


def serve_processes(host: str, port: int, processes: int, **options: Any) -> None:
    """Start ``processes`` workers, each a server (``options`` as
    :func:`~llavataros.serve.server.run_server` takes them, ``max_connections`` the total),
    then accept and hand over connections until interrupted. This process loads no model."""
    options["max_connections"] = per_process(options.get("max_connections", 8), processes)
    listener = socket.create_server((host, port))
    listener.setblocking(False)
    pool = WorkerPool(options)
    try:
        for _ in range(processes):
            pool.start()
        asyncio.run(_parent(listener, pool, f"{banner(host, port)} ({processes} processes)"))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM
        pass
    finally:
        listener.close()
        pool.stop()


class WorkerPool:
    """The worker processes; one that exits is replaced."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self.workers: list[Worker] = []
        self.started = 0

    def start(self) -> Worker:
        parent, child = socket.socketpair()
        name = f"llavataros-serve-{self.started}"
        process = self.context.Process(target=worker_main, args=(child, self.options), name=name)
        process.start()
        child.close()
        self.started += 1
        worker = Worker(process, parent, alive=False)  # it gets connections once ready
        self.workers.append(worker)
        return worker

    async def ready(self, worker: Worker) -> None:
        """Wait until ``worker`` has loaded its models; its error as an :class:`InputError`."""
        worker.reader, worker.writer = await asyncio.open_unix_connection(sock=worker.channel)
        line = (await worker.reader.readline()).decode().strip()
        worker.alive = line == "ready"
        if not worker.alive:
            message = line.removeprefix("error ") or "a server process exited while starting"
            raise InputError(None, message)

    async def watch(self, worker: Worker) -> None:
        """Follow a worker's reports; when it exits, start another in its place."""
        while True:
            while line := (await worker.reader.readline()).decode():
                kind, _, value = line.strip().partition(" ")
                if kind == "streams":
                    worker.streams = int(value)
            worker.alive = False
            worker.channel.close()
            await asyncio.to_thread(worker.process.join)
            self.workers.remove(worker)
            log.warning("server process %s exited (code %s): starting another",
                        worker.process.name, worker.process.exitcode)  # fmt: skip
            worker = self.start()
            try:
                await self.ready(worker)
            except InputError as error:  # it cannot load now: serve with the others
                self.workers.remove(worker)
                log.error("could not start a server process: %s", error)
                return

    def stop(self) -> None:
        for worker in self.workers:
            worker.channel.close()  # the worker sees end-of-file and stops
        for worker in self.workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()


async def _parent(listener: socket.socket, pool: WorkerPool, announce: str) -> None:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    for worker in pool.workers:  # every worker loads its models; the first failure is the error
        await pool.ready(worker)
    print(announce, flush=True)
    watchers = [asyncio.create_task(pool.watch(worker)) for worker in pool.workers]
    try:
        while True:
            connection, _ = await loop.sock_accept(listener)
            with contextlib.closing(connection):  # the worker holds its own copy
                hand_over(connection, pool.workers)
    finally:
        for task in watchers:
            task.cancel()


def choose_worker(workers: list[Worker], now: float) -> Worker | None:
    """The live worker with the fewest streams (the first of equals); None if none lives."""
    alive = [w for w in workers if w.alive]
    return min(alive, key=lambda w: w.load(now)) if alive else None


def hand_over(connection: socket.socket, workers: list[Worker]) -> Worker:
    """Give the connection to :func:`choose_worker`'s worker; returns it."""
    while (worker := choose_worker(workers, time.monotonic())) is not None:
        try:
            socket.send_fds(worker.channel, [b"c"], [connection.fileno()])
        except OSError:  # it exited after its last report: the next one
            worker.alive = False
            continue
        worker.handed.append(time.monotonic())
        return worker
    raise RuntimeError("every server process has exited")


def worker_main(channel: socket.socket, options: dict[str, Any]) -> None:
    """A worker process: load the models, report ready, serve handed-over connections. A
    parent that has gone (it stopped, or another worker failed first) ends it quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (end of file)
    from llavataros.serve.server import load_animator

    models = {k: options.pop(k) for k in ("model", "face_model", "speed_limit") if k in options}
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        try:
            animator = load_animator(**models)
        except InputError as error:
            channel.sendall(f"error {error}\n".encode())
            return
        asyncio.run(_serve_handed(channel, animator, options))


async def _serve_handed(channel: socket.socket, animator, options: dict[str, Any]) -> None:
    from aiohttp import web

    from llavataros.serve.server import STATE, make_app

    loop = asyncio.get_running_loop()
    app = make_app(animator, **options)
    app[STATE].on_connections = lambda count: channel.sendall(f"streams {count}\n".encode())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stopped = asyncio.Event()

    def receive() -> None:  # a thread: blocking reads of handed-over sockets
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(channel, 1, 1)
            except OSError:
                fds = []
            if not fds:  # the parent closed the channel: stop
                loop.call_soon_threadsafe(stopped.set)
                return
            loop.call_soon_threadsafe(_adopt, socket.socket(fileno=fds[0]))

    def _adopt(connection: socket.socket) -> None:
        connection.setblocking(False)
        loop.create_task(loop.connect_accepted_socket(runner.server, connection))

    threading.Thread(target=receive, name="llavataros-handover", daemon=True).start()
    channel.sendall(b"ready\n")
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()


def per_process(max_connections: int, processes: int) -> int:
    """Each worker's share of ``--max-connections`` (the parent balances, so all fill alike)."""
    return max(1, math.ceil(max_connections / processes))
