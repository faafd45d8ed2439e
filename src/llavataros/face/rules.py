"""The rule-based face of ``animate`` and the stream (issue 12), with a learned mouth in place
of the loudness jaw when one is given (``mouth``, :mod:`llavataros.pipeline.learned_mouth`).

- Mouth: where words are known, visemes from their phonemes (:func:`~.baselines.viseme_face`:
  coarticulation by dominance blending, lips closed through p, b, m); elsewhere (no
  transcript, words dropped as not English, noise) a loudness-driven jaw. The two cross-fade
  over ``BLEND`` s at the edges of the known words.
- Loudness jaw: RMS level of the ``2 / fps`` s around each frame (as
  :func:`~.baselines.rms_db`) against the loudest level so far minus ``HEADROOM_DB`` (at
  least ``FLOOR_DB``): ``jawOpen = MAX_OPEN * clip((L - R + RANGE_DB) / RANGE_DB, 0, 1)``.
  A running maximum instead of the clip's percentile keeps it causal.
- Upper face: blinks (gamma intervals, shape 3, mean ``60 / blinks_per_minute`` s, at least
  1 s apart; 100 ms closing, 200 ms opening) and brow raises at accent times (amplitude in
  [0.25, 0.5] drawn from the accent time and the seed), as :mod:`~.upper`.

:class:`RuleFace` is incremental and chunk-invariant: a frame reads only the audio around its
own time, the phonemes within ``CUTOFF`` s and the blinks and accents near it, so frames
computed in any chunks equal the frames computed at once (the stream's face equals the
offline face). Feed audio with :meth:`add_audio`, timed speech with :meth:`add_speech`, take
frames with :meth:`frames`; :meth:`finish` marks the end of the audio.
"""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import NUM_BLENDSHAPES, index
from llavataros.face.baselines import viseme_face
from llavataros.face.upper import BLINK, BROWS, SQUINT
from llavataros.face.visemes import Phonemes

JAW_OPEN = index("jawOpen")
CUTOFF = 0.5  # s: a phoneme farther than this from a frame does not shape it
BLEND = 0.1  # s: cross-fade from visemes to the loudness jaw outside known words
MAX_OPEN, RANGE_DB, HEADROOM_DB, FLOOR_DB = 0.45, 30.0, 6.0, -50.0
MIN_BLINK_GAP = 1.0  # s


def _pulse(times: np.ndarray, onset: float, rise: float, fall: float) -> np.ndarray:
    up = np.clip((times - onset) / rise, 0.0, 1.0)
    down = np.clip(1.0 - (times - onset - rise) / fall, 0.0, 1.0)
    return np.where(times < onset + rise, up, down)


class RuleFace:
    """Incremental rule-based face at ``fps`` from 16 kHz audio and timed speech."""

    def __init__(
        self,
        fps: float,
        seed: int = 0,
        blinks_per_minute: float = 17.0,
        sample_rate: int = 16000,
        mouth=None,
    ):
        self.fps, self.seed, self.sample_rate = float(fps), seed, sample_rate
        self.mouth = mouth  # a learned mouth for frames without words (else the loudness jaw)
        self.half = max(1, int(round(sample_rate / fps)))  # samples each side of a frame
        self.audio = np.zeros(0, dtype=np.float32)  # received audio not yet forgotten
        self.audio_offset = 0  # absolute index of self.audio[0]
        self.samples_in = 0
        self.finished = False
        self.phonemes: Phonemes = []
        self.spans: list[tuple[float, float]] = []  # times of words with phonemes
        self.accents: list[float] = []
        self.loudest = FLOOR_DB + HEADROOM_DB  # running maximum of the frame level (dB)
        self.frames_out = 0
        self._blink_rng = np.random.default_rng([seed, 0])
        self._mean_gap = 60.0 / blinks_per_minute
        self._blinks = [float(self._blink_rng.uniform(0.3, self._mean_gap))]

    @property
    def has_speech(self) -> bool:
        """Whether any word with phonemes was given (the face then shows visemes)."""
        return bool(self.spans)

    def add_audio(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.samples_in += len(samples)
        if self.mouth is not None:  # the mouth keeps what it reads; loudness is not measured
            self.mouth.add_audio(samples)
        else:
            self.audio = np.concatenate([self.audio, samples])

    def add_speech(
        self, phonemes: Phonemes, spans: list[tuple[float, float]], accents: list[float]
    ) -> None:
        """Phonemes ``(symbol, start, end)``, word spans and accent times (s) now known."""
        self.phonemes.extend(phonemes)
        self.spans.extend(spans)
        self.accents.extend(accents)

    def finish(self) -> None:
        """No more audio: the last frames' loudness windows end at the last sample."""
        self.finished = True
        if self.mouth is not None:
            self.mouth.finish()

    @property
    def latency_seconds(self) -> float:
        """Speech time a frame waits for: the learned mouth's wait, else its loudness window."""
        if self.mouth is not None:
            return self.mouth.latency_seconds
        return 1.0 / self.fps + self.half / self.sample_rate

    def ready_frames(self) -> int:
        """Frames whose learned mouth, or else loudness window, is ready (all of them after
        :meth:`finish`)."""
        if self.finished:
            return 10**12
        if self.mouth is not None:
            return self.mouth.ready_frames()
        return max(0, int(np.floor((self.samples_in - self.half) * self.fps / self.sample_rate)))

    def frames(self, stop: int) -> np.ndarray:
        """Rows ``[frames_out, stop)`` as ``(n, 52)`` float32 in [0, 1]."""
        first = self.frames_out
        count = max(0, stop - first)
        if count == 0:
            return np.zeros((0, NUM_BLENDSHAPES), np.float32)
        times = (first + np.arange(count)) / self.fps
        mouth = self._mouth(first, count, times)
        face = np.maximum(mouth, self._upper(times))
        self.frames_out = first + count
        self._forget()
        return np.clip(face, 0.0, 1.0).astype(np.float32)

    # -- parts ----------------------------------------------------------------------------
    def _levels(self, first: int, count: int) -> np.ndarray:
        """Frame levels in dBFS (as :func:`~.baselines.rms_db`, window clipped at the end)."""
        centres = np.round((first + np.arange(count)) * self.sample_rate / self.fps)
        levels = np.empty(count)
        end = self.samples_in if self.finished else None
        for k, centre in enumerate(centres.astype(np.int64)):
            low = max(0, centre - self.half)
            high = centre + self.half if end is None else min(centre + self.half, end)
            segment = self.audio[low - self.audio_offset : max(low, high) - self.audio_offset]
            power = float(np.mean(np.square(segment, dtype=np.float64))) if len(segment) else 0
            levels[k] = 10.0 * np.log10(max(power, 1e-12))
        return levels

    def _mouth(self, first: int, count: int, times: np.ndarray) -> np.ndarray:
        if self.mouth is not None:
            jaw = self.mouth.frames(first, count).astype(np.float64)
        else:
            jaw = self._loudness_jaw(first, count)
        if not self.spans:
            return jaw
        margin = CUTOFF + 1.0 / self.fps  # viseme_face measures from half a frame inside
        low, high = times[0] - margin, times[-1] + margin
        near = [p for p in self.phonemes if p[2] >= low and p[1] <= high]
        visemes = viseme_face(near, count, self.fps, first_frame=first, cutoff=CUTOFF)
        distance = np.full(count, np.inf)
        for start, end in self.spans:
            distance = np.minimum(distance, np.maximum(np.maximum(start - times, times - end), 0))
        known = np.clip(1.0 - distance / BLEND, 0.0, 1.0)[:, None]  # (t, 1)
        return known * visemes + (1.0 - known) * jaw

    def _loudness_jaw(self, first: int, count: int) -> np.ndarray:
        levels = self._levels(first, count)
        loudest = np.maximum.accumulate(np.maximum(levels, self.loudest))
        self.loudest = float(loudest[-1])
        reference = loudest - HEADROOM_DB
        jaw = np.zeros((count, NUM_BLENDSHAPES))
        jaw[:, JAW_OPEN] = MAX_OPEN * np.clip((levels - reference + RANGE_DB) / RANGE_DB, 0, 1)
        return jaw

    def _upper(self, times: np.ndarray) -> np.ndarray:
        face = np.zeros((len(times), NUM_BLENDSHAPES))
        while self._blinks[-1] <= times[-1]:
            gap = max(MIN_BLINK_GAP, float(self._blink_rng.gamma(3.0, self._mean_gap / 3.0)))
            self._blinks.append(self._blinks[-1] + gap)
        blink = np.zeros(len(times))
        for moment in self._blinks:
            if moment + 0.3 >= times[0] and moment <= times[-1]:
                blink = np.maximum(blink, _pulse(times, moment, 0.1, 0.2))
        face[:, list(BLINK)] = blink[:, None]
        face[:, list(SQUINT)] = 0.15 * blink[:, None]
        brow = np.zeros(len(times))
        for accent in self.accents:
            if accent + 0.5 >= times[0] and accent - 0.05 <= times[-1]:
                amplitude = np.random.default_rng([self.seed, 1, round(accent * 1000)])
                raise_ = amplitude.uniform(0.25, 0.5) * _pulse(times, accent - 0.05, 0.15, 0.4)
                brow = np.maximum(brow, raise_)
        face[:, list(BROWS)] = brow[:, None]
        return face

    def _forget(self) -> None:
        """Drop audio, phonemes, blinks and accents no later frame reads."""
        now = self.frames_out / self.fps
        keep_from = int(round(self.frames_out * self.sample_rate / self.fps)) - self.half
        drop = max(0, keep_from - self.audio_offset)
        self.audio, self.audio_offset = self.audio[drop:], self.audio_offset + drop
        self.phonemes = [p for p in self.phonemes if p[2] >= now - CUTOFF - 1.0]
        self.spans = [s for s in self.spans if s[1] >= now - BLEND - 1.0] or self.spans[-1:]
        self.accents = [a for a in self.accents if a >= now - 1.0]
        self._blinks = [b for b in self._blinks if b >= now - 1.0] or self._blinks[-1:]


def rule_face(
    audio: np.ndarray,
    num_frames: int,
    fps: float,
    phonemes: Phonemes = (),
    spans: list[tuple[float, float]] = (),
    accents: list[float] = (),
    seed: int = 0,
    sample_rate: int = 16000,
) -> np.ndarray:
    """``(num_frames, 52)`` rule-based face of a whole recording (see the module docstring)."""
    face = RuleFace(fps, seed, sample_rate=sample_rate)
    face.add_audio(audio)
    face.add_speech(list(phonemes), list(spans), list(accents))
    face.finish()
    return face.frames(num_frames)
