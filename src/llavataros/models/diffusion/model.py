"""The ``diffusion`` model family: :class:`DiffusionDenoiser` behind the model protocol of
:mod:`llavataros.models.base`, so the pipeline, the stream and checkpoints treat it like any
family. Sampling settings (steps, guidance, seed) are an attribute the caller may set; they
default to the config's."""

from __future__ import annotations

from typing import ClassVar

import torch

from llavataros.models.base import FrameInputs, OutputKind
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.network import DiffusionDenoiser
from llavataros.models.diffusion.windows import (
    DiffusionStream,
    SamplerSettings,
    default_sampler,
    generate,
)
from llavataros.motion.smoothing import SpeedLimit


class DiffusionModel(DiffusionDenoiser):
    """A denoiser that samples motion for speech (offline and streaming)."""

    family: ClassVar[str] = "diffusion"
    output_kind: ClassVar[OutputKind] = "body"
    config_class: ClassVar[type] = DiffusionConfig
    # the output smoothing span is the config's ``smoothing_seconds`` (see the property);
    # and more where its wrists move faster than people's: the sampler sometimes drops or raises
    # a hand in 0.4 s, which people take 0.6 s for (peak wrist speed on held-out real speech
    # 2.6-2.9 m/s, real speakers under 1.9; benchmarks/speed_limit.py)
    speed_limit: ClassVar[SpeedLimit | None] = SpeedLimit()

    def __init__(self, config: DiffusionConfig, sampler: SamplerSettings | None = None):
        super().__init__(config)
        self.sampler = sampler or default_sampler(config)

    @property
    def lookahead(self) -> int:
        """Worst-case frames a motion frame waits for after its speech frame arrives."""
        return self.config.stream_latency_frames

    @property
    def smoothing_seconds(self) -> float:
        """Output smoothing span, a per-model setting: a DDIM sample jitters frame to frame
        more than a regressor's output (0.47 s, the default, gives the first shipped model's
        test takes the corpus's jerk; benchmarks/smoothing_study.py, README "Which model")."""
        return self.config.smoothing_seconds

    @property
    def output_dim(self) -> int:
        return self.config.motion_dim

    def _text(self, inputs: FrameInputs) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return (inputs.text, inputs.text_mask) if self.config.use_text else (None, None)

    def generate(self, inputs: FrameInputs, speaker: torch.Tensor) -> torch.Tensor:
        text, mask = self._text(inputs)
        return generate(self, text, mask, inputs.audio, speaker, self.sampler)

    def start_stream(self, speaker: torch.Tensor) -> DiffusionStream:
        return DiffusionStream(self, speaker, self.sampler)

    def push(
        self, state: DiffusionStream, inputs: FrameInputs
    ) -> tuple[torch.Tensor, DiffusionStream]:
        text, mask = self._text(inputs)
        return state.push(text, mask, inputs.audio), state

    def flush(self, state: DiffusionStream) -> torch.Tensor:
        return state.flush()
