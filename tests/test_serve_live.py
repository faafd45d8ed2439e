"""The live server over real WebSockets on a loopback port, with the shipped model: round
trip, equality with ``animate``, every error answered while other clients keep streaming, a
seeded fuzzer, and sessions freed on disconnect."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import soundfile

from llavataros.pipeline.animate import Animator
from llavataros.serve.client import run_client
from llavataros.serve.protocol import ERROR_CODES, MAX_MESSAGE_BYTES
from llavataros.speech.audio import load_audio
from serve_helpers import LiveServer, exchange, pcm, stream_messages

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WORDS = [
    {"word": w, "start": round(0.3 + 0.5 * i, 2), "end": round(0.7 + 0.5 * i, 2)}
    for i, w in enumerate("hello I am the demo voice I think this is a big idea".split())
]


@pytest.fixture(scope="module")
def animator() -> Animator:
    return Animator.load("llanimation")  # the live server's model


@pytest.fixture(scope="module")
def server(animator):
    live = LiveServer(animator, max_connections=16)
    yield live
    live.close()


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return load_audio(EXAMPLES / "hello.wav")[: 3 * 16000]


def frames_of(replies: list[dict]) -> np.ndarray:
    frames = [np.asarray(r["body"], np.float32) for r in replies if r["type"] == "frames"]
    return np.concatenate(frames)


def test_ready_frames_done_round_trip(server, audio):
    replies = asyncio.run(paced_stream(server.url, audio))
    ready, done = replies[0], replies[-1]
    assert ready["type"] == "ready" and ready["version"] == 1
    assert len(ready["joints"]) == 9 and ready["model"] == "llanimation"
    assert ready["face"] is True
    assert ready["fps"] == 60.0 and 0.5 <= ready["lookahead_s"] < 1.0
    assert done == {"type": "done", "frames": 180}  # round(3 s * 60 fps)
    firsts = [r["first"] for r in replies if r["type"] == "frames"]
    counts = [len(r["body"]) for r in replies if r["type"] == "frames"]
    assert firsts == list(np.cumsum([0, *counts[:-1]]))  # contiguous, in order
    assert len(firsts) > 5  # frames come while audio streams, not all at the end
    # sent at once, the queued chunks are pushed together: the same frames
    at_once = asyncio.run(exchange(server.url, stream_messages(audio, words=WORDS)))
    assert np.abs(frames_of(at_once) - frames_of(replies)).max() < 1e-4
    body = frames_of(replies)
    assert body.shape == (180, 9, 7)
    faces = np.concatenate([r["face"] for r in replies if r["type"] == "frames"])
    assert faces.shape == (180, 52) and 0 <= faces.min() and faces.max() <= 1
    assert np.allclose(np.linalg.norm(body[..., 3:], axis=-1), 1.0, atol=1e-5)
    assert server.wait_idle()


def test_client_writes_what_animate_writes(server, animator, tmp_path):
    # the file is 16 kHz PCM16, so client and animate read the very same samples
    wav = tmp_path / "hello.wav"
    soundfile.write(wav, load_audio(EXAMPLES / "hello.wav")[: 5 * 16000], 16000, "PCM_16")
    words = tmp_path / "hello.words.json"
    words.write_text(json.dumps({"words": WORDS}))
    written = run_client(wav, server.url, tmp_path / "live", speed=float("inf"), transcript=words)
    names = ["hello.face.npy", "hello.json", "hello.latency.json", "hello.npy"]
    assert sorted(p.name for p in written) == names
    offline = animator.animate(wav, words)
    expected = offline.motion.to_array(np.float32)
    received = np.load(tmp_path / "live" / "hello.npy")
    assert received.shape == expected.shape == (300, 9, 7)
    assert np.abs(received - expected).max() < 1e-4
    face = np.load(tmp_path / "live" / "hello.face.npy")
    assert face.shape == offline.face.shape == (300, 52)
    assert np.abs(face - offline.face).max() < 1e-4
    assert json.loads((tmp_path / "live" / "hello.json").read_text()) == {"fps": 60.0}
    latency = json.loads((tmp_path / "live" / "hello.latency.json").read_text())
    assert latency["frames"] == 300
    assert 0 < latency["latency_p50_s"] <= latency["latency_p95_s"] <= latency["latency_max_s"]
    assert 0 < latency["first_frame_s"]


BAD_SEQUENCES = {
    "malformed JSON": (["{oops"], "bad_json"),
    "unknown type": ([{"type": "start"}, {"type": "jump"}], "bad_message"),
    "binary before start": ([b"\x00\x00" * 100], "out_of_order"),
    "oversized": ([{"type": "start"}, bytes(MAX_MESSAGE_BYTES + 2)], "too_large"),
    "words out of order": (
        [
            {"type": "start", "live_words": False},
            {"type": "words", "words": [{"word": "b", "start": 2.0, "end": 2.5}]},
            {"type": "words", "words": [{"word": "a", "start": 1.0, "end": 1.5}]},
        ],
        "out_of_order",
    ),
    "second start": ([{"type": "start"}, {"type": "start"}], "out_of_order"),
    "bad sample rate": ([{"type": "start", "sample_rate": 12}], "bad_message"),
    "odd audio bytes": ([{"type": "start"}, b"\x00\x00\x00"], "bad_audio"),
    "unknown speaker": ([{"type": "start", "speaker": "Nobody"}], "bad_message"),
    "end without audio": ([{"type": "start"}, {"type": "end"}], "bad_audio"),
    "version 2": ([{"type": "start", "version": 2}], "unsupported_version"),
}


def test_each_mistake_gets_an_error_while_another_client_keeps_streaming(server, audio):
    async def scenario():
        healthy = asyncio.create_task(paced_stream(server.url, audio))
        await asyncio.sleep(0.3)  # the healthy stream is under way
        results = {}
        for name, (messages, _code) in BAD_SEQUENCES.items():
            results[name] = await exchange(server.url, messages)
        return results, await healthy

    results, healthy = asyncio.run(scenario())
    for name, (_messages, code) in BAD_SEQUENCES.items():
        errors = [r for r in results[name] if r["type"] == "error"]
        assert [e["code"] for e in errors] == [code], name
    assert healthy[-1] == {"type": "done", "frames": 180}
    assert frames_of(healthy).shape == (180, 9, 7)
    assert server.wait_idle()


async def paced_stream(url: str, audio: np.ndarray, seconds_per_chunk: float = 0.05) -> list:
    """A well-behaved client sending 100 ms chunks every ``seconds_per_chunk``."""
    replies = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_json({"type": "start", "transcript": {"words": WORDS}})

        async def read():
            async for reply in ws:
                replies.append(json.loads(reply.data))

        reader = asyncio.create_task(read())
        for first in range(0, len(audio), 1600):
            await ws.send_bytes(pcm(audio[first : first + 1600]))
            await asyncio.sleep(seconds_per_chunk)
        await ws.send_json({"type": "end"})
        await asyncio.wait_for(reader, 30)
    return replies


def random_message(rng: random.Random):
    """One message of a seeded fuzzer: valid and broken JSON, odd types, random binaries."""
    roll = rng.random()
    if roll < 0.25:
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 2, 3, 320, 3201])))
    if roll < 0.35:
        return "".join(rng.choice('{}[]":,ab1 \\') for _ in range(rng.randint(0, 20)))
    values = [None, True, 0, -1, 1.5, 1e308, "x", "start", [], {}, [{"word": "a"}], 16000]
    message = {"type": rng.choice(["start", "words", "end", "frames", "", None, 3])}
    for key in rng.sample(["version", "sample_rate", "speaker", "transcript", "words"], 2):
        message[key] = rng.choice(values)
    return message


def test_fuzzed_messages_get_errors_and_never_stop_the_server(server, audio):
    rng = random.Random(1234)
    codes = set()
    for _ in range(40):
        sequence = [random_message(rng) for _ in range(rng.randint(1, 6))]
        replies = asyncio.run(exchange(server.url, sequence, timeout=20))
        for reply in replies:
            assert reply["type"] in {"ready", "frames", "words", "error", "done"}
            if reply["type"] == "error":
                assert reply["code"] in ERROR_CODES and "\n" not in reply["message"]
                codes.add(reply["code"])
    assert {"bad_json", "bad_message", "out_of_order"} <= codes  # the fuzzer reached them
    replies = asyncio.run(exchange(server.url, stream_messages(audio[:16000], words=WORDS)))
    assert replies[-1] == {"type": "done", "frames": 60}  # still serving
    assert server.wait_idle()


def test_a_disconnect_mid_stream_frees_the_session(server, audio):
    async def leave_early():
        async with aiohttp.ClientSession() as http, http.ws_connect(server.url) as ws:
            await ws.send_json({"type": "start", "live_words": False})
            assert (await ws.receive_json())["type"] == "ready"
            for first in range(0, 16000, 1600):
                await ws.send_bytes(pcm(audio[first : first + 1600]))
            assert len(server.state.sessions) == 1
            # leaving the block closes the socket without an end message

    asyncio.run(leave_early())
    assert server.wait_idle()
    batcher = server.state.batcher  # once it would have pushed again, no push waits for it
    assert batcher.streaming(time.perf_counter() + batcher.active) == 0
    assert batcher.last_push == {}  # and the batcher keeps nothing of it


def test_a_full_server_says_busy(animator, audio):
    small = LiveServer(animator, max_connections=1)
    try:

        async def two_clients():
            async with aiohttp.ClientSession() as http, http.ws_connect(small.url) as ws:
                await ws.send_json({"type": "start", "live_words": False})
                await ws.receive_json()
                return await exchange(small.url, [{"type": "start"}])

        replies = asyncio.run(two_clients())
        assert [r.get("code") for r in replies] == ["server_busy"]
        assert small.wait_idle()
    finally:
        small.close()


def test_other_sample_rates_are_resampled(server, audio):
    from scipy.signal import resample_poly

    audio48 = resample_poly(audio.astype(np.float64), 3, 1).astype(np.float32)
    messages = stream_messages(audio48, chunk=4800, words=WORDS)
    messages[0]["sample_rate"] = 48000
    replies = asyncio.run(exchange(server.url, messages))
    assert replies[-1] == {"type": "done", "frames": 180}
    reference = frames_of(asyncio.run(exchange(server.url, stream_messages(audio, words=WORDS))))
    assert np.abs(frames_of(replies) - reference).max() < 0.3  # the same gestures, resampled


class FakeLiveWords:
    """Stands in for the incremental transcriber: a word after 1 s of audio, one at the end."""

    def __init__(self):
        self.samples = 0

    def push(self, samples16k: np.ndarray) -> list:
        from llavataros.speech.words import Word

        before, self.samples = self.samples, self.samples + len(samples16k)
        return [Word("hello", 0.2, 0.6)] if before < 16000 <= self.samples else []

    def finish(self) -> list:
        from llavataros.speech.words import Word

        self.samples = None
        return [Word("there", 1.5, 1.9)]

    @property
    def settled_until(self) -> float:  # "hello" settles once heard; the rest at the end
        if self.samples is None:
            return float("inf")
        return 0.7 if self.samples >= 16000 else 0.2


def test_live_words_reach_the_stream_and_the_client(server, audio, monkeypatch):
    import llavataros.serve.session as session_module

    streams = []
    original = session_module.Session.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        streams.append(self.stream)

    monkeypatch.setattr(session_module, "open_live_words", FakeLiveWords)
    monkeypatch.setattr(session_module.Session, "__init__", remember)
    messages = stream_messages(audio[:32000])
    messages[0] = {"type": "start"}  # no transcript: live words by default
    replies = asyncio.run(exchange(server.url, messages))
    heard = [w["word"] for r in replies if r["type"] == "words" for w in r["words"]]
    assert heard == ["hello", "there"]
    assert [w.word for w in streams[0].words] == ["hello", "there"]
    ready = replies[0]
    assert ready["words_hold_s"] == 3.0  # the default hold, counted in the lookahead
    assert ready["lookahead_s"] == pytest.approx(streams[0].latency_seconds + 3.0, abs=1e-4)
    assert replies[-1] == {"type": "done", "frames": 120}


@pytest.mark.parametrize("command", ["serve", "client"])
def test_live_commands_explain_every_option(command, capsys):
    from llavataros.cli import build_parser

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    assert "usage: llavataros " + command in capsys.readouterr().out
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    assert all(action.help for action in sub._actions)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["client", "missing.wav"], "missing.wav: audio file not found"),
        (["client", str(EXAMPLES / "hello.wav"), "--speed", "0"], "--speed must be positive"),
        (["client", str(EXAMPLES / "hello.wav"), "--words-hold", "-1"], "--words-hold must be"),
        (
            ["client", str(EXAMPLES / "hello.wav"), "--url", "ws://127.0.0.1:9/ws"],
            "ws://127.0.0.1:9/ws: cannot connect",
        ),
    ],
)
def test_client_mistakes_give_one_line(args, fragment, capsys, tmp_path):
    from llavataros.cli import main

    assert main([*args, "-o", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and fragment in error
    assert list(tmp_path.iterdir()) == []  # no partial output


def test_client_reports_a_server_error_in_one_line(server, capsys, tmp_path):
    from llavataros.cli import main

    wav = EXAMPLES / "hello.wav"
    assert main(["client", str(wav), "--url", server.url, "--speaker", "Nobody"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "bad_message" in error and "Nobody" in error


def test_the_viewer_is_served_at_the_root(server):
    from llavataros.serve.server import viewer_folder

    if not (viewer_folder() / "index.html").exists():
        pytest.skip("the viewer is not built (web/setup.sh builds it into package data)")

    async def get(path: str):
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}{path}") as response:
                return response.status, await response.read()

    status, page = asyncio.run(get("/"))
    assert status == 200 and b"<html" in page.lower()
    assert asyncio.run(get("/avatar.glb"))[1][:4] == b"glTF"
    assert asyncio.run(get("/no-such-file"))[0] == 404


def test_a_server_bug_is_an_internal_error_for_that_connection_only(server, audio, monkeypatch):
    import llavataros.serve.session as session_module

    original = session_module.Session.push

    def failing(self, samples, words=()):
        if any(word.word == "boom" for word in self.stream.words):
            raise RuntimeError("boom")
        return original(self, samples, words)

    monkeypatch.setattr(session_module.Session, "push", failing)
    broken = stream_messages(audio[:16000], words=[{"word": "boom", "start": 0.1, "end": 0.2}])

    async def both():
        return await asyncio.gather(
            exchange(server.url, broken),
            exchange(server.url, stream_messages(audio[:16000], words=WORDS)),
        )

    failed, fine = asyncio.run(both())
    assert [r["code"] for r in failed if r["type"] == "error"] == ["internal"], failed
    assert "boom" in failed[-1]["message"]
    assert fine[-1] == {"type": "done", "frames": 60}
    assert server.wait_idle()
