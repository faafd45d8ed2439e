"""Concurrent sessions' model pushes as one forward pass.

Each session's :class:`~llavataros.models.base.ModelStream` talks to its own
:class:`BatchedModel` proxy instead of the model. Clients send audio at their own times, so
pushes rarely coincide by themselves: the first push to arrive waits, up to ``wait`` seconds,
until every session that is streaming (pushed within the last ``active`` seconds) has a push
pending, then runs them all; a lone stream never waits. (Waiting only for sessions already
inside a push formed batches of one for 40 % of pushes at 4 streams per process and left the
8-stream p95 between 76 and 173 ms over eight runs; waiting for every streaming session, up to
30 ms, gave 71-77 ms over five, at 0.12 instead of 0.14-0.20 s of CPU per speech second per
stream: ``benchmarks/serve_latency.py``.)

Pushes whose stream states have the same shapes (apart from the batch axis) run as
``model.push`` calls on states stacked along the batch axis, and each caller gets its own rows
back. Pushes of different lengths (a session that fell behind sends two chunks' frames at once)
still share forward passes: they run in rounds, each pushing the frames every one of them still
has, which gives the same frames because a model stream accepts its input in chunks of any
size. The stacking is generic over the state (dataclasses, tuples, tensors, plain values), so
it knows the model protocol, never a family's class. Rows of a batch never mix (every layer
works per sequence), so results equal separate pushes to float rounding; a state that does not
stack (shapes differ, e.g. a Transformer-XL memory still filling up) runs alone.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import torch

from llavataros.models.base import FrameInputs


def signature(value: Any) -> Any:
    """What must be equal for two values to stack: structure, shapes past the batch axis,
    dtypes and every non-tensor value."""
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape[1:]), value.dtype)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value), tuple(signature(getattr(value, f.name)) for f in fields))
    if isinstance(value, tuple | list):
        return (type(value), tuple(signature(item) for item in value))
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return ("object", id(value))  # unknown: never stacks with another value


def stack(values: list) -> Any:
    """Values of one signature -> one value whose tensors are concatenated on axis 0."""
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(values)
    if dataclasses.is_dataclass(first):
        fields = {
            f.name: stack([getattr(v, f.name) for v in values]) for f in dataclasses.fields(first)
        }
        return dataclasses.replace(first, **fields)
    if isinstance(first, tuple | list):
        return type(first)(stack(list(items)) for items in zip(*values, strict=True))
    return first


def unstack(value: Any, sizes: list[int]) -> list:
    """Inverse of :func:`stack` for batch sizes ``sizes``; tensors are copied so one session's
    state never keeps the whole batch alive."""
    if isinstance(value, torch.Tensor):
        return [part.clone() for part in torch.split(value, sizes)]
    if dataclasses.is_dataclass(value):
        names = [f.name for f in dataclasses.fields(value)]
        columns = [unstack(getattr(value, name), sizes) for name in names]
        return [
            dataclasses.replace(value, **dict(zip(names, row, strict=True)))
            for row in zip(*columns, strict=True)
        ]
    if isinstance(value, tuple | list):
        columns = [unstack(item, sizes) for item in value]
        return [type(value)(row) for row in zip(*columns, strict=True)] or [
            type(value)() for _ in sizes
        ]
    return [value for _ in sizes]


@dataclasses.dataclass
class _Request:
    """One caller's push: its state and the input frames not pushed yet, the outputs so far."""

    state: Any
    inputs: FrameInputs
    outputs: list[torch.Tensor] = dataclasses.field(default_factory=list)
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    error: BaseException | None = None

    @property
    def key(self) -> Any:
        """What must be equal to share a forward pass (the inputs' length need not be)."""
        return signature((self.state, self.inputs.slice(0, 0)))

    @property
    def result(self) -> tuple[torch.Tensor, Any]:
        return torch.cat(self.outputs, dim=1), self.state


class PushBatcher:
    """Collects ``push`` calls from worker threads (one proxy per session) and runs them in
    batches."""

    def __init__(self, model, wait: float = 0.03, max_batch: int = 16, active: float = 0.5):
        self.model, self.wait, self.max_batch, self.active = model, wait, max_batch, active
        self.lock = threading.Lock()
        self.pending: list[_Request] = []
        self.leader_active = False
        self.last_push: dict[int, float] = {}  # proxy id -> time of its latest push
        self.batch_sizes: list[int] = []  # recent batch sizes (for tests and benchmarks)

    def proxy(self) -> BatchedModel:
        return BatchedModel(self)

    def push(self, state: Any, inputs: FrameInputs, stream: int = 0) -> tuple[torch.Tensor, Any]:
        """``model.push(state, inputs)`` for session ``stream``, in a batch."""
        request = _Request(state, inputs)
        with self.lock:
            self.last_push[stream] = time.perf_counter()
            self.pending.append(request)
            lead = not self.leader_active
            self.leader_active = self.leader_active or lead
        if not lead:
            request.done.wait()
        else:
            self._lead()
        if request.error is not None:
            raise request.error
        return request.result

    def streaming(self, now: float) -> int:
        """Sessions that pushed within ``active`` seconds (the others are forgotten)."""
        self.last_push = {k: t for k, t in self.last_push.items() if now - t < self.active}
        return len(self.last_push)

    def _lead(self) -> None:
        """Wait (up to ``wait``) for a push from every streaming session, then run them all."""
        deadline = time.perf_counter() + self.wait
        while (now := time.perf_counter()) < deadline:
            with self.lock:
                if len(self.pending) >= min(self.streaming(now), self.max_batch):
                    break
            time.sleep(0.0005)
        with self.lock:
            taken, self.pending = self.pending, []
            self.leader_active = False
        try:
            self._run_rounds(taken)
        finally:
            for request in taken:
                request.done.set()

    def _run_rounds(self, requests: list[_Request]) -> None:
        """Push every request's frames: rounds of batched pushes until none are left."""
        remaining = requests
        while remaining:
            groups: dict[Any, list[_Request]] = {}
            for request in remaining:
                groups.setdefault(request.key, []).append(request)
            for group in groups.values():
                for start in range(0, len(group), self.max_batch):
                    self._run(group[start : start + self.max_batch])
            remaining = [r for r in remaining if r.error is None and r.inputs.frames > 0]

    def _run(self, group: list[_Request]) -> None:
        """One forward pass: a lone request pushes all its frames, a batch the frames every
        member still has."""
        try:
            if len(group) == 1:
                request = group[0]
                output, request.state = self.model.push(request.state, request.inputs)
                request.outputs.append(output)
                request.inputs = request.inputs.slice(request.inputs.frames)
            else:
                frames = min(r.inputs.frames for r in group)
                state = stack([r.state for r in group])
                inputs = stack([r.inputs.slice(0, frames) for r in group])
                output, new_state = self.model.push(state, inputs)
                sizes = [r.inputs.text.shape[0] for r in group]
                rows = zip(group, unstack(output, sizes), unstack(new_state, sizes), strict=True)
                for request, part, part_state in rows:
                    request.outputs.append(part)
                    request.state = part_state
                    request.inputs = request.inputs.slice(frames)
            self.batch_sizes = [*self.batch_sizes[-999:], len(group)]
        except BaseException as error:  # every caller of the batch sees the failure
            for request in group:
                request.error = error


class BatchedModel:
    """The model as a session's ModelStream sees it: ``push`` goes through the batcher,
    everything else to the model."""

    def __init__(self, batcher: PushBatcher):
        self._batcher = batcher

    def push(self, state: Any, inputs: FrameInputs) -> tuple[torch.Tensor, Any]:
        return self._batcher.push(state, inputs, id(self))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batcher.model, name)
