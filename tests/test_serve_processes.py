"""``serve --processes N``: connections go to the worker process with the fewest streams, the
processes serve as one server does, a worker that dies is replaced, a worker's start-up error
is one line, and stopping the server stops every process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from llavataros.serve.processes import Worker, choose_worker, hand_over, per_process
from llavataros.speech.audio import load_audio
from serve_helpers import exchange, pcm, stream_messages

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    {"word": w, "start": round(0.3 + 0.5 * i, 2), "end": round(0.7 + 0.5 * i, 2)}
    for i, w in enumerate("hello I think this is a big idea".split())
]


def fake_workers(count: int) -> tuple[list[Worker], list[socket.socket]]:
    """Workers whose channels are socket pairs (no process behind them)."""
    workers, ends = [], []
    for _ in range(count):
        ours, theirs = socket.socketpair()
        workers.append(Worker(process=None, channel=ours))
        ends.append(theirs)
    return workers, ends


def test_the_worker_with_fewest_streams_gets_the_connection():
    workers, ends = fake_workers(3)
    try:
        now = 100.0
        workers[0].streams, workers[1].streams, workers[2].streams = 2, 0, 1
        assert choose_worker(workers, now) is workers[1]
        workers[1].handed = [now - 0.5, now - 0.1]  # handed over, not reported yet: 2 streams
        assert choose_worker(workers, now) is workers[2]  # 1 < 2 = 2
        assert choose_worker(workers, now + 5) is workers[1]  # reports are due by then
        workers[1].alive = workers[2].alive = False
        assert choose_worker(workers, now) is workers[0]
        workers[0].alive = False
        assert choose_worker(workers, now) is None
        assert per_process(8, 2) == 4 and per_process(9, 2) == 5 and per_process(1, 4) == 1
    finally:
        for end in [*ends, *(w.channel for w in workers)]:
            end.close()


def test_hand_over_passes_the_socket_and_balances_a_burst():
    workers, ends = fake_workers(2)
    clients = []
    try:
        chosen = []
        for _ in range(4):  # four connections at once, before any worker reports
            client, server_side = socket.socketpair()
            clients.append(client)
            chosen.append(workers.index(hand_over(server_side, workers)))
            server_side.close()  # the parent's copy: the worker holds its own
        assert chosen == [0, 1, 0, 1]
        # the worker receives a working socket: what the client sends arrives through it
        _, fds, _, _ = socket.recv_fds(ends[0], 1, 1)
        with socket.socket(fileno=fds[0]) as received:
            clients[0].sendall(b"GET / HTTP/1.1\r\n")
            assert received.recv(64) == b"GET / HTTP/1.1\r\n"
        ends[1].close()  # a worker that exited: the next connection goes to the other
        workers[0].handed.clear()
        workers[0].streams = 5
        client, server_side = socket.socketpair()
        clients.append(client)
        assert hand_over(server_side, workers) is workers[0]
        assert workers[1].alive is False
    finally:
        for end in [*ends, *clients, *(w.channel for w in workers)]:
            end.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_processes(pid: int) -> list[int]:
    """The worker processes of server ``pid`` (not multiprocessing's resource tracker)."""
    tasks = Path(f"/proc/{pid}/task")
    found = [int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()]
    return [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
def test_two_processes_serve_concurrent_streams_and_stop_together():
    from llavataros.pipeline.animate import Animator
    from llavataros.pipeline.stream import AnimationStream
    from llavataros.speech.words import Transcript, Word

    port = free_port()
    command = [sys.executable, "-m", "llavataros.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--processes", "2"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert "(2 processes)" in process.stdout.readline()  # printed once all have loaded
        workers = server_processes(process.pid)
        assert len(workers) == 2
        audio = load_audio(ROOT / "examples" / "hello.wav")[: 3 * 16000]
        messages = stream_messages(audio, words=WORDS)
        url = f"ws://127.0.0.1:{port}/ws"

        async def together():
            return await asyncio.gather(*(exchange(url, messages) for _ in range(4)))

        before = [cpu_seconds(pid) for pid in workers]
        replies = asyncio.run(together())
        used = [cpu_seconds(pid) - b for pid, b in zip(workers, before, strict=True)]
        assert min(used) > 0.25, used  # both served streams (an idle one uses ~0 s)
        for reply in replies:
            assert reply[0]["type"] == "ready" and reply[-1] == {"type": "done", "frames": 180}
        bodies = [
            np.concatenate([np.asarray(r["body"]) for r in reply if r["type"] == "frames"])
            for reply in replies
        ]
        # what one process's stream gives for the same (PCM16) audio and words
        words = tuple(Word(w["word"], w["start"], w["end"]) for w in WORDS)
        stream = AnimationStream(Animator.load("llanimation"), Transcript("", words))
        sent = np.frombuffer(pcm(audio), "<i2").astype(np.float32) / 32768
        expected = np.concatenate([stream.push(sent), stream.finish()])
        for body in bodies:
            assert np.abs(body - expected).max() < 1e-4

        os.kill(workers[0], signal.SIGKILL)  # a worker dies: another takes its place
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            replaced = server_processes(process.pid)
            if len(replaced) == 2 and workers[0] not in replaced:
                break
            time.sleep(0.2)
        assert len(replaced) == 2 and workers[0] not in replaced
        workers = replaced
        again = asyncio.run(together())  # served (by the survivor until the new one is ready)
        assert all(reply[-1] == {"type": "done", "frames": 180} for reply in again)
    finally:
        process.terminate()
        code = process.wait(30)
    assert code in (0, -15)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}/status").exists() for pid in workers)


def test_a_worker_that_cannot_load_gives_one_line(tmp_path):
    missing = tmp_path / "no-model"
    result = subprocess.run(
        [sys.executable, "-m", "llavataros.cli", "serve", "--port", str(free_port()),
         "--processes", "2", "--model", str(missing)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(missing) in result.stderr, result.stderr
    assert result.stdout == ""  # no banner: it never served


def test_the_parent_process_needs_no_torch():
    """The parent of a several-process server only hands connections over: the command line,
    the shipped paths it names and the parent's code import no model code."""
    code = (
        "import sys; import llavataros.cli as cli, llavataros.serve.processes; "
        "from llavataros.pipeline.learned_mouth import SHIPPED_FACE_MODEL as face; "
        "from llavataros.models.checkpoint import DEFAULT_MODEL, SHIPPED_MODELS; "
        "assert cli.SHIPPED_FACE_MODEL == face; "
        "assert cli.SHIPPED_MODEL == SHIPPED_MODELS[DEFAULT_MODEL]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    light = "import sys, llavataros.cli, llavataros.serve.processes; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", light], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
