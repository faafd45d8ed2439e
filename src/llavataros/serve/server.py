"""``llavataros serve``: one asyncio server (aiohttp) with the WebSocket API at ``/ws``
(docs/PROTOCOL.md) and the built viewer at ``/``.

aiohttp gives the HTTP static files, the WebSocket server and an async client in one maintained
library. Every connection owns a :class:`~llavataros.serve.session.Session` over the one shared
:class:`Animator`; inference runs in a thread pool, never on the event loop. Each connection has
a bounded queue: when its worker lags, the server stops reading that socket (TCP back-pressure)
instead of buffering. A disconnect cancels the worker and drops the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from aiohttp import WSMsgType, web

from llavataros.pipeline.animate import Animator
from llavataros.serve import protocol
from llavataros.serve.protocol import End, ProtocolError, Start, Words
from llavataros.serve.session import Session, Update

log = logging.getLogger(__name__)

QUEUE_ITEMS = 16  # messages waiting per connection (16 x 100 ms chunks) before reading pauses
READ_LIMIT = 4 * protocol.MAX_MESSAGE_BYTES  # larger messages are cut off by aiohttp (1009)


@dataclass
class ServerState:
    """What all connections share: the model, the worker threads, the open sessions."""

    animator: Animator
    executor: ThreadPoolExecutor
    max_connections: int = 8
    connections: int = 0
    sessions: set[Session] = field(default_factory=set)


STATE = web.AppKey("state", ServerState)


def viewer_folder() -> Path:
    """The built viewer shipped as package data."""
    return Path(str(resources.files("llavataros") / "assets" / "web"))


def make_app(animator: Animator, max_connections: int = 8, workers: int = 2) -> web.Application:
    """The aiohttp application: ``/ws`` and the viewer at ``/``."""
    app = web.Application()
    state = ServerState(animator, ThreadPoolExecutor(workers, "llavataros-infer"), max_connections)
    app[STATE] = state
    app.router.add_get("/ws", websocket)
    folder = viewer_folder()
    if (folder / "index.html").exists():
        app.router.add_get("/", lambda _: web.FileResponse(folder / "index.html"))
        app.router.add_static("/", folder)

    async def shutdown(_app: web.Application) -> None:
        state.executor.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(shutdown)
    return app


async def websocket(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    ws = web.WebSocketResponse(max_msg_size=READ_LIMIT)
    await ws.prepare(request)
    if state.connections >= state.max_connections:
        await _fail(ws, ProtocolError("server_busy", f"{state.max_connections} streams are open"))
        return ws
    state.connections += 1
    try:
        await Connection(ws, state).run()
    finally:
        state.connections -= 1
    return ws


async def _fail(ws: web.WebSocketResponse, error: ProtocolError) -> None:
    """Send the error message and close this connection (every error is fatal to it)."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_json(protocol.error(error.code, error.message))
    await ws.close()


class Connection:
    """One WebSocket: a reader (this coroutine) feeding a bounded queue, and a worker task
    running the session's pushes in the thread pool and sending their frames in order."""

    def __init__(self, ws: web.WebSocketResponse, state: ServerState):
        self.ws, self.state = ws, state
        self.session: Session | None = None
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_ITEMS)
        self.worker: asyncio.Task | None = None
        self.ended = False
        self.stopped = False  # the worker has exited: nothing more is queued

    async def run(self) -> None:
        try:
            async for message in self.ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_message(protocol.parse_text(message.data))
                elif message.type == WSMsgType.BINARY:
                    await self._on_audio(message.data)
                else:  # ERROR (e.g. over READ_LIMIT): aiohttp closes the socket
                    break
        except ProtocolError as error:
            await _fail(self.ws, error)
        finally:
            await self._release()

    async def _on_message(self, message) -> None:
        if isinstance(message, Start):
            if self.session is not None:
                raise ProtocolError("out_of_order", "a second start message")
            await self._start(message)
            return
        self._require_session(type(message).__name__.lower())
        if isinstance(message, Words):
            self.session.check_words(message.words)
            await self._put(("words", message.words))
        elif isinstance(message, End):
            self.ended = True
            await self._put(("end", None))

    async def _on_audio(self, data: bytes) -> None:
        self._require_session("audio")
        await self._put(("audio", protocol.parse_audio(data)))

    async def _put(self, item: tuple) -> None:
        """Queue for the worker; waits while the queue is full (back-pressure)."""
        if not self.stopped:
            await self.queue.put(item)

    def _require_session(self, what: str) -> None:
        if self.session is None:
            raise ProtocolError("out_of_order", f"{what} before the start message")
        if self.ended:
            raise ProtocolError("out_of_order", f"{what} after the end message")

    async def _start(self, start: Start) -> None:
        loop = asyncio.get_running_loop()
        animator = self.state.animator
        session = await loop.run_in_executor(self.state.executor, Session, animator, start)
        self.session = session
        self.state.sessions.add(session)
        ready = protocol.ready(
            session.fps,
            animator.skeleton.names,
            round(session.stream.latency_seconds, 4),
            session.speaker,
            session.face,
            animator.model.family,
        )
        await self.ws.send_json(ready)
        self.worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        session, executor = self.session, self.state.executor
        try:
            while True:
                kind, payload = await self.queue.get()
                if kind == "end":
                    await self._send(await loop.run_in_executor(executor, session.finish))
                    await self.ws.send_json(protocol.done(session.frames_sent))
                    await self.ws.close()
                    return
                audio = payload if kind == "audio" else np.zeros(0, np.float32)
                words = payload if kind == "words" else ()
                update = await loop.run_in_executor(executor, session.push, audio, words)
                await self._send(update)
        except ProtocolError as error:
            await _fail(self.ws, error)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as error:  # a bug must not take the server down: report, close
            log.exception("session failed")
            await _fail(self.ws, ProtocolError("internal", f"{type(error).__name__}: {error}"))
        finally:  # free a reader waiting on a full queue; it queues nothing more
            self.stopped = True
            while not self.queue.empty():
                self.queue.get_nowait()

    async def _send(self, update: Update) -> None:
        if update.words:
            await self.ws.send_json(protocol.words(update.words))
        if len(update.body):
            fps = self.session.fps
            await self.ws.send_json(protocol.frames(update.first, fps, update.body, update.face))

    async def _release(self) -> None:
        """After the socket closes: cancel the worker, forget the session (its stream state
        goes with it)."""
        if self.worker is not None:
            self.worker.cancel()  # no-op when it has finished
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await self.worker
        if self.session is not None:
            self.state.sessions.discard(self.session)
            self.session = None
        await self.ws.close()


def run_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    model: str | None = None,
    max_connections: int = 8,
    workers: int = 2,
) -> None:
    """Load the model once and serve until interrupted."""
    animator = Animator.load(model)
    app = make_app(animator, max_connections, workers)
    print(f"llavataros serve: ws://{host}:{port}/ws, viewer at http://{host}:{port}/", flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
