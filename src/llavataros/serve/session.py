"""One connection's state: an :class:`AnimationStream` over the shared :class:`Animator`, the
resampler to 16 kHz, optional live words, and the count of frames sent. Synchronous: the server
calls it from a worker thread, one call at a time per session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from llavataros.errors import InputError
from llavataros.pipeline.animate import Animator
from llavataros.pipeline.stream import AnimationStream
from llavataros.serve.protocol import ProtocolError, Start
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.words import Transcript, Word

# live audio also waits for this much settled speech after it: a word's vector reads the words
# after it (benchmarks/live_words.py measured the choice)
WORDS_CONTEXT_S = 1.0


@dataclass
class Update:
    """What one call produced: frames from ``first`` on, and words committed by live words."""

    first: int
    body: np.ndarray  # (n, 9, 7)
    face: np.ndarray | None = None  # (n, 52)
    words: list[Word] = field(default_factory=list)


def stream_frames(stream: AnimationStream, audio: np.ndarray | None, words=()):
    """``(body, face | None)`` from a push (``audio``) or the finish (``None``)."""
    out = stream.finish_frames() if audio is None else stream.push_frames(audio, words)
    return out.body, out.face


def open_live_words():
    """A ``LiveWords`` transcriber (``push(samples16k) -> words``, ``finish() -> words``)."""
    from llavataros.serve.live_words import LiveWords

    return LiveWords()


class Session:
    """Audio and words in (any order after start), frames out, in stream order."""

    def __init__(self, animator: Animator, start: Start, live_words=None, batcher=None):
        try:
            speaker_id = animator.speaker_id(start.speaker)
        except (InputError, KeyError, ValueError) as error:
            raise ProtocolError("bad_message", str(error)) from None
        self.speaker = animator.speakers.name(speaker_id)
        transcript = Transcript(" ".join(w.word for w in start.words), start.words)
        self.stream = AnimationStream(animator, transcript, speaker_id)
        if batcher is not None:  # a PushBatcher shared by the sessions
            self.stream.model_stream.model = batcher.proxy()
        self.last_start = start.words[-1].start if start.words else 0.0
        self.resampler = None
        if start.sample_rate != SAMPLE_RATE:
            import soxr

            self.resampler = soxr.ResampleStream(start.sample_rate, SAMPLE_RATE, 1, "float32")
        if start.live_words and live_words is None and not start.words:
            live_words = open_live_words()
        self.live_words = live_words
        # live frames wait for their words: audio reaches the stream once the words before it
        # are settled, or once it is hold seconds old
        self.hold = start.words_hold_s if live_words is not None else 0.0
        self.held = np.zeros(0, np.float32)  # 16 kHz audio received, not yet streamed
        self.received = 0  # 16 kHz samples received
        self.frames_sent = 0
        self.samples_in = 0  # 16 kHz samples streamed

    @property
    def fps(self) -> float:
        return self.stream.fps

    @property
    def face(self) -> bool:
        return self.stream.face is not None

    def check_words(self, words: tuple[Word, ...]) -> None:
        """Words must not start before the last word received (``out_of_order``)."""
        if words and words[0].start < self.last_start:
            raise ProtocolError(
                "out_of_order",
                f"word {words[0].word!r} at {words[0].start:.3f} s starts before the last "
                f"word received ({self.last_start:.3f} s)",
            )
        if words:
            self.last_start = words[-1].start

    def push(self, audio: np.ndarray, words: tuple[Word, ...] = ()) -> Update:
        """Audio at the start's rate (and timed words); the frames now final."""
        if self.resampler is not None:
            audio = self.resampler.resample_chunk(audio.astype(np.float32), last=False)
        heard = self.live_words.push(audio) if self.live_words is not None else []
        self.received += len(audio)
        if self.hold > 0:
            audio = self._release_held(audio)
        return self._update(audio, [*words, *heard], heard)

    def _release_held(self, audio: np.ndarray) -> np.ndarray:
        """The held audio (with ``audio`` added) that may go to the stream now."""
        self.held = np.concatenate([self.held, audio])
        now = self.received / SAMPLE_RATE
        until = max(self.live_words.settled_until - WORDS_CONTEXT_S, now - self.hold)
        count = int(np.clip(round(until * SAMPLE_RATE) - self.samples_in, 0, len(self.held)))
        released, self.held = self.held[:count], self.held[count:]
        return released

    def finish(self) -> Update:
        """End of audio: the remaining frames (the total is ``round(duration * fps)``)."""
        tail = np.zeros(0, np.float32)
        if self.resampler is not None:  # the resampler's last samples
            tail = self.resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            self.resampler = None
        heard = []
        if self.live_words is not None:  # words known only now shape frames not yet released
            heard = [*self.live_words.push(tail), *self.live_words.finish()]
        audio, self.held = np.concatenate([self.held, tail]), np.zeros(0, np.float32)
        if self.samples_in + len(audio) == 0:
            raise ProtocolError("bad_audio", "the stream ended without audio")
        self.samples_in += len(audio)
        parts = [stream_frames(self.stream, audio, tuple(heard)), stream_frames(self.stream, None)]
        body = np.concatenate([b for b, _ in parts])
        faces = [f for _, f in parts]
        face = None if any(f is None for f in faces) else np.concatenate(faces)
        return self._emit(body, face, heard)

    def _update(self, audio: np.ndarray, words: list[Word], heard: list[Word]) -> Update:
        self.samples_in += len(audio)
        body, face = stream_frames(self.stream, audio, tuple(words))
        return self._emit(body, face, heard)

    def _emit(self, body: np.ndarray, face: np.ndarray | None, heard: list[Word]) -> Update:
        update = Update(self.frames_sent, body, face, heard)
        self.frames_sent += len(body)
        return update
