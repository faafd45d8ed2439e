"""``llavataros client``: stream a recording to a server at real-time pace (``speed`` times
faster when asked), collect the frames, measure each frame's latency.

A frame's latency is the wall time it arrives minus the wall time the audio at the frame's time
was sent; it includes the model's lookahead (``ready.lookahead_s``), which the ``beyond_*``
figures subtract (in wall time: lookahead / speed). Audio goes as PCM16 at 16 kHz (the file is
read as ``animate`` reads it). A transcript is timed on this side as ``animate`` times it and
sent as timed words, so the frames equal ``animate``'s for the same file and model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np

from llavataros.errors import InputError
from llavataros.serve import protocol
from llavataros.speech.audio import SAMPLE_RATE, load_audio
from llavataros.speech.words import Transcript

CHUNK_SECONDS = 0.1


@dataclass
class StreamResult:
    """Frames received, their latencies (seconds), and what the server said."""

    ready: dict
    body: np.ndarray  # (T, 9, 7)
    face: np.ndarray | None  # (T, 52)
    latencies: np.ndarray  # (T,) seconds
    words: list[dict] = field(default_factory=list)
    done: dict | None = None
    speed: float = 1.0
    first_frame: float | None = None  # seconds from the first audio sent to the first frame

    @property
    def fps(self) -> float:
        return float(self.ready["fps"])

    def latency_summary(self) -> dict:
        lookahead = float(self.ready["lookahead_s"]) / self.speed  # wall seconds
        summary = {"frames": int(len(self.latencies)), "speed": self.speed}
        summary["lookahead_s"] = round(lookahead, 4)
        for name, values in (("latency", self.latencies), ("beyond", self.latencies - lookahead)):
            if len(values):
                summary[f"{name}_p50_s"] = round(float(np.percentile(values, 50)), 4)
                summary[f"{name}_p95_s"] = round(float(np.percentile(values, 95)), 4)
                summary[f"{name}_max_s"] = round(float(values.max()), 4)
        if self.first_frame is not None:
            summary["first_frame_s"] = round(self.first_frame, 4)
        return summary


def start_message(
    transcript: Transcript | str | None,
    speaker: str | None,
    live_words: bool | None = None,
    words_hold: float | None = None,
) -> dict:
    """The start message for 16 kHz audio; timed words travel as ``{"words": [...]}``;
    ``None`` leaves an option to the server."""
    if isinstance(transcript, Transcript):
        transcript = protocol.words(transcript.words)
        transcript.pop("type")
    message = {
        "type": "start",
        "version": protocol.VERSION,
        "sample_rate": SAMPLE_RATE,
        "speaker": speaker,
        "transcript": transcript,
    }
    if live_words is not None:
        message["live_words"] = live_words
    if words_hold is not None:
        message["words_hold_s"] = words_hold
    return message


async def stream_audio(
    url: str,
    audio: np.ndarray,
    start: dict,
    speed: float = 1.0,
    chunk_seconds: float = CHUNK_SECONDS,
) -> StreamResult:
    """Send 16 kHz ``audio`` in chunks paced at ``speed`` x real time (``inf``: no pauses);
    return what came back. A server error is an InputError naming the URL."""
    chunk = max(1, int(round(chunk_seconds * SAMPLE_RATE)))
    pcm = (np.clip(audio, -1.0, 1.0 - 1 / 32768) * 32768).astype("<i2")
    sent_at = np.zeros(0)  # wall time each chunk was sent
    received: dict = {"body": [], "face": [], "arrivals": [], "words": []}
    async with aiohttp.ClientSession() as http:
        try:
            ws = await http.ws_connect(url, max_msg_size=0)
        except (aiohttp.ClientError, OSError) as error:
            raise InputError(url, f"cannot connect ({error})") from None
        async with ws:
            await ws.send_json(start)
            ready = await _next(ws, url)
            if ready.get("type") != "ready":
                code, problem = ready.get("code"), ready.get("message")
                raise InputError(url, f"server refused the start ({code}): {problem}")
            reader = asyncio.create_task(_read(ws, url, received))
            begin = time.perf_counter()
            times = []
            for first in range(0, len(pcm), chunk):
                due = begin + (first + chunk) / SAMPLE_RATE / speed
                # sleep(0) when behind: the reader takes what has arrived before the next send
                # (after a send fails on a closed socket, aiohttp drops buffered messages)
                await asyncio.sleep(max(due - time.perf_counter(), 0.0))
                if reader.done():  # the server stopped early (an error)
                    break
                times.append(time.perf_counter())
                with contextlib.suppress(ConnectionError):  # the reader reports why
                    await ws.send_bytes(pcm[first : first + chunk].tobytes())
            sent_at = np.array(times)
            if not reader.done():
                with contextlib.suppress(ConnectionError):
                    await ws.send_json({"type": "end"})
            done = await reader
    body = np.concatenate(received["body"]) if received["body"] else np.zeros((0, 9, 7))
    faces = received["face"]
    face = np.concatenate(faces) if faces and all(f is not None for f in faces) else None
    fps = float(ready["fps"])
    frame_sample = np.arange(len(body)) / fps * SAMPLE_RATE
    chunk_of_frame = np.minimum(frame_sample // chunk, len(sent_at) - 1).astype(int)
    arrivals = np.asarray(received["arrivals"])
    latencies = arrivals - sent_at[chunk_of_frame]
    first = float(arrivals[0] - sent_at[0]) if len(arrivals) else None
    return StreamResult(
        ready, body.astype(np.float32), face, latencies, received["words"], done, speed, first
    )


async def _next(ws, url: str) -> dict:
    message = await ws.receive()
    if message.type != aiohttp.WSMsgType.TEXT:
        raise InputError(url, "the server closed the connection")
    return json.loads(message.data)


async def _read(ws, url: str, received: dict) -> dict:
    """Collect frames (with arrival times) and words until ``done``; errors -> InputError."""
    while True:
        message = await _next(ws, url)
        kind = message.get("type")
        if kind == "frames":
            now = time.perf_counter()
            if message["first"] != sum(len(b) for b in received["body"]):
                raise InputError(url, f"frames from {message['first']} arrived out of order")
            received["body"].append(np.asarray(message["body"], np.float32).reshape(-1, 9, 7))
            face = message.get("face")
            received["face"].append(None if face is None else np.asarray(face, np.float32))
            received["arrivals"].extend([now] * len(message["body"]))
        elif kind == "words":
            received["words"].extend(message["words"])
        elif kind == "error":
            raise InputError(url, f"server error {message['code']}: {message['message']}")
        elif kind == "done":
            return message


def timed_words(audio: np.ndarray, transcript: str | Path) -> Transcript:
    """A ``--transcript`` value timed as ``animate`` times it (text is aligned here)."""
    from llavataros.speech.frontend import read_transcript_argument, words_for_audio

    value = read_transcript_argument(transcript)
    return value if isinstance(value, Transcript) else words_for_audio(audio, value)


def run_client(
    audio_path: str | Path,
    url: str,
    out_dir: str | Path,
    speed: float = 1.0,
    transcript: str | Path | None = None,
    speaker: str | None = None,
    words_hold: float | None = None,
) -> list[Path]:
    """Stream ``audio_path``; write ``NAME.npy`` (+ ``NAME.face.npy``), ``NAME.json`` (fps),
    ``NAME.words.json`` (live words, when the server sent any) and ``NAME.latency.json`` into
    ``out_dir`` (all or nothing)."""
    if not speed > 0:
        raise InputError(None, f"--speed must be positive, got {speed}")
    audio = load_audio(audio_path)
    words = timed_words(audio, transcript) if transcript is not None else None
    if words_hold is not None and not 0 <= words_hold <= protocol.MAX_WORDS_HOLD_S:
        raise InputError(
            None, f"--words-hold must be 0 to {protocol.MAX_WORDS_HOLD_S:g} s, got {words_hold}"
        )
    start = start_message(words, speaker, words_hold=words_hold)
    result = asyncio.run(stream_audio(url, audio, start, speed))
    return write_result(result, out_dir, Path(audio_path).stem)


def write_result(result: StreamResult, out_dir: str | Path, name: str) -> list[Path]:
    """Write the files into a staging folder, then move them into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_dir))
    try:
        files = [staging / f"{name}.npy", staging / f"{name}.json"]
        np.save(files[0], result.body)
        files[1].write_text(json.dumps({"fps": result.fps}) + "\n")
        if result.face is not None:
            files.append(staging / f"{name}.face.npy")
            np.save(files[-1], result.face)
        if result.words:  # live words the server committed
            files.append(staging / f"{name}.words.json")
            text = " ".join(word["word"] for word in result.words)
            data = {"text": text, "source": "live", "words": result.words}
            files[-1].write_text(json.dumps(data, indent=1) + "\n")
        files.append(staging / f"{name}.latency.json")
        files[-1].write_text(json.dumps(result.latency_summary(), indent=1) + "\n")
        written = []
        for file in files:
            os.replace(file, out_dir / file.name)
            written.append(out_dir / file.name)
        return written
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
