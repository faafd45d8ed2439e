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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from aiohttp import WSMsgType, web

from llavataros.models.checkpoint import LIVE_MODEL
from llavataros.pipeline.animate import Animator
from llavataros.pipeline.learned_mouth import SHIPPED_FACE_MODEL
from llavataros.serve import banner, protocol
from llavataros.serve.batching import PushBatcher
from llavataros.serve.protocol import End, ProtocolError, Start, Words
from llavataros.serve.session import Session, Update

log = logging.getLogger(__name__)

QUEUE_ITEMS = 16  # messages waiting per connection (16 x 100 ms chunks) before reading pauses
READ_LIMIT = 4 * protocol.MAX_MESSAGE_BYTES  # larger messages are cut off by aiohttp (1009)
BATCH_WAIT = 0.03  # seconds a model push waits for the other streaming sessions' pushes


@dataclass
class ServerState:
    """What all connections share: the model, the worker threads, the open sessions."""

    animator: Animator
    executor: ThreadPoolExecutor
    max_connections: int = 8
    batcher: PushBatcher | None = None
    connections: int = 0
    sessions: set[Session] = field(default_factory=set)
    on_connections: Callable[[int], None] | None = None  # told the stream count on changes

    def count_connection(self, change: int) -> None:
        self.connections += change
        if self.on_connections is not None:
            self.on_connections(self.connections)


STATE = web.AppKey("state", ServerState)


def viewer_folder() -> Path:
    """The built viewer shipped as package data."""
    return Path(str(resources.files("llavataros") / "assets" / "web"))


def make_app(
    animator: Animator,
    max_connections: int = 8,
    workers: int | None = None,
    batch_wait: float = BATCH_WAIT,
) -> web.Application:
    """The aiohttp application: ``/ws`` and the viewer at ``/``. ``batch_wait`` (seconds; 0:
    no batching) is how long a model push waits for the pushes of the other streaming
    sessions, to share its forward pass; ``workers`` inference threads (default: one per
    connection when batching, so every session's push can join a batch, else 2)."""
    app = web.Application()
    batcher = PushBatcher(animator.model, batch_wait) if batch_wait > 0 else None
    workers = workers or (max_connections if batcher else 2)
    executor = ThreadPoolExecutor(workers, "llavataros-infer")
    state = ServerState(animator, executor, max_connections, batcher)
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
    state.count_connection(+1)
    try:
        await Connection(ws, state).run()
    finally:
        state.count_connection(-1)
    return ws


async def _fail(ws: web.WebSocketResponse, error: ProtocolError) -> None:
    """Send the error message and close this connection (every error is fatal to it)."""
    try:
        await ws.send_json(protocol.error(error.code, error.message))
    except (ConnectionError, RuntimeError) as failure:  # the socket closed first: say so
        log.warning("could not send %s error (%s: %s)", error.code, type(failure).__name__, failure)
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
        self.reporting = False  # the worker is sending an error and closing

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
        except ConnectionError:  # the client left while we answered
            pass
        except Exception as error:  # a bug must not take the server down: report, close
            log.exception("connection failed")
            await _fail(self.ws, ProtocolError("internal", f"{type(error).__name__}: {error}"))
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
        session = await loop.run_in_executor(
            self.state.executor, Session, animator, start, None, self.state.batcher
        )
        self.session = session
        self.state.sessions.add(session)
        ready = protocol.ready(
            session.fps,
            animator.skeleton.names,
            round(session.stream.latency_seconds + session.hold, 4),
            session.speaker,
            session.face,
            animator.model.family,
            session.hold,
        )
        await self.ws.send_json(ready)
        self.worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        session, executor = self.session, self.state.executor
        try:
            while True:
                audio, words, end = self._gather(await self.queue.get())
                if len(audio) or words:
                    update = await loop.run_in_executor(executor, session.push, audio, words)
                    await self._send(update)
                if end:
                    await self._send(await loop.run_in_executor(executor, session.finish))
                    await self.ws.send_json(protocol.done(session.frames_sent))
                    await self.ws.close()
                    return
        except ProtocolError as error:
            self.reporting = True
            await _fail(self.ws, error)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as error:  # a bug must not take the server down: report, close
            log.exception("session failed")
            self.reporting = True  # the reader's clean-up waits for the report, not cancels it
            await _fail(self.ws, ProtocolError("internal", f"{type(error).__name__}: {error}"))
        finally:  # free a reader waiting on a full queue; it queues nothing more
            self.stopped = True
            while not self.queue.empty():
                self.queue.get_nowait()

    def _gather(self, item: tuple) -> tuple[np.ndarray, tuple, bool]:
        """``item`` and everything queued behind it as one push: ``(audio, words, end)``. A
        worker that fell behind catches up in one call (the stream is chunk-invariant), which
        costs far less than one call per message."""
        audio, words, end = [], [], False
        while True:
            kind, payload = item
            if kind == "audio":
                audio.append(payload)
            elif kind == "words":
                words.extend(payload)
            else:
                end = True
            if end or self.queue.empty():
                break
            item = self.queue.get_nowait()
        samples = np.concatenate(audio) if audio else np.zeros(0, np.float32)
        return samples, tuple(words), end

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
            if not self.reporting:  # its close() ends our read loop: let it finish the report
                self.worker.cancel()  # no-op when it has finished
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await self.worker
        if self.session is not None:
            self.state.sessions.discard(self.session)
            self.session = None
        await self.ws.close()


def load_animator(
    model: str | None = None,
    face_model: str | Path | None = SHIPPED_FACE_MODEL,
    speed_limit: float | None = None,
) -> Animator:
    """The models a server process serves (default: the live model and the shipped face;
    ``speed_limit`` as ``Animator.speed_limit_seconds``)."""
    animator = Animator.load(model or LIVE_MODEL, face_model=face_model)
    animator.speed_limit_seconds = speed_limit
    return animator


def run_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    model: str | None = None,
    max_connections: int = 8,
    workers: int | None = None,
    batch_wait: float = BATCH_WAIT,
    face_model: str | Path | None = SHIPPED_FACE_MODEL,
    speed_limit: float | None = None,
) -> None:
    """Load the models (default: the shipped Transformer-XL, whose stream answers within
    0.7 s) and serve from this process until interrupted (``face_model`` None: the mouth
    follows loudness where no words are known). Several processes:
    :func:`llavataros.serve.processes.serve_processes`."""
    animator = load_animator(model, face_model, speed_limit)
    app = make_app(animator, max_connections, workers, batch_wait)
    print(banner(host, port), flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
