"""A real server on a free loopback port, in a thread of the test process, and small async
clients for the live protocol tests."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import aiohttp
import numpy as np
from aiohttp import web

from llavataros.serve.server import STATE, make_app


class LiveServer:
    """``make_app`` served on 127.0.0.1 on its own event loop thread."""

    def __init__(self, animator, **options):
        self.loop = asyncio.new_event_loop()
        self.app = make_app(animator, **options)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def state(self):
        return self.app[STATE]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once no connection or session is open (within ``timeout`` seconds)."""
        stop = time.monotonic() + timeout
        while time.monotonic() < stop:
            batcher = self.state.batcher  # a push of a closed session may still be finishing
            busy = batcher is not None and (batcher.pending or batcher.leader_active)
            if not self.state.sessions and self.state.connections == 0 and not busy:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1 - 1 / 32768) * 32768).astype("<i2").tobytes()


async def exchange(url: str, messages: list, timeout: float = 30.0) -> list[dict]:
    """Send ``messages`` (dict: JSON, str: raw text, bytes: binary) and collect every text
    message the server sends until it closes. Replies are read while sending, so a server that
    answers with an error and closes mid-stream is heard whatever the timing."""
    replies: list[dict] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:

        async def read() -> None:
            async for reply in ws:
                if reply.type == aiohttp.WSMsgType.TEXT:
                    replies.append(json.loads(reply.data))

        reader = asyncio.create_task(read())
        await asyncio.sleep(0)  # the reader waits before anything is sent
        for message in messages:
            if ws.closed or reader.done():
                break
            try:
                if isinstance(message, dict):
                    await ws.send_json(message)
                elif isinstance(message, str):
                    await ws.send_str(message)
                else:
                    await ws.send_bytes(message)
            except ConnectionError:
                break
            # Let the reader take what has arrived: a send that fails because the server has
            # closed marks the client socket closed, and aiohttp's receive() then drops the
            # messages still buffered (the 'ready' and 'error' of a server that failed fast).
            await asyncio.sleep(0)
        async with asyncio.timeout(timeout):
            await reader
    return replies


def stream_messages(audio: np.ndarray, chunk: int = 1600, words=None) -> list:
    """start, the audio in chunks, end."""
    transcript = None if words is None else {"words": words}
    start = {"type": "start", "version": 1, "transcript": transcript, "live_words": False}
    chunks = [pcm(audio[i : i + chunk]) for i in range(0, len(audio), chunk)]
    return [start, *chunks, {"type": "end"}]
