"""Training losses of the diffusion model (DiffMotion-v2, arXiv 2308.05995, trains with the MSE
between true and predicted noise; we choose among eps, x0 and v, see ``schedule.py``).

:func:`diffusion_loss`: draw ``t ~ U(0, 1)`` and ``eps ~ N(0, I)`` per window, noise the
normalised motion, drop the speech condition with probability ``condition_dropout`` (for
classifier-free guidance), and take the MSE between the network output and the target. With
probability ``prefix_probability`` the first ``k <= overlap`` frames of a window are given
clean at time 0 and left out of the loss: the model learns to continue known motion, which the
windowed sampler relies on. With ``text_noise > 0`` the word vectors get Gaussian noise of that
share of their RMS (:func:`noisy_word_vectors`), so that sentences the corpus never had, whose
vectors differ a little, are not strangers.
Optional geometric terms (:class:`GeometryTerms`) compare joint positions, velocities and
accelerations from forward kinematics (``model/geometry.py``) of the implied clean motion
``x0_hat`` and the true one, weighted per window by ``alpha_t^2`` so that the nearly-clean
steps, where x0_hat can be right, carry them (at ``t = 1`` x0_hat can only be the mean).

:func:`distillation_loss`: progressive distillation (Salimans & Ho 2022, algorithm 2); the
student learns in one step of ``1 / N`` what the teacher does in two.

Axes: ``b`` batch, ``n`` frames, ``m`` motion features, ``j`` joints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from llavataros.models.diffusion.config import Prediction
from llavataros.models.diffusion.network import DiffusionDenoiser, Speech
from llavataros.models.diffusion.sampling import Predictor, distillation_target
from llavataros.models.diffusion.schedule import (
    NoiseSchedule,
    add_noise,
    prediction_target,
    split_prediction,
)
from llavataros.models.geometry import RootStatistics, forward_kinematics, sixd_to_matrix
from llavataros.motion.skeleton import Skeleton


@dataclass(frozen=True)
class GeometryTerms:
    """Forward-kinematics terms: squared error of joint positions (metres), of their per-frame
    velocities (metres per frame) and of their per-frame accelerations (second differences,
    metres per frame^2), each times its weight. The acceleration term weighs an error at
    frequency f by (2 pi f / fps)^2 more than the velocity term does: it is the one that
    penalises frame-to-frame jitter rather than slow drift."""

    skeleton: Skeleton
    statistics: RootStatistics
    position: float = 1.0
    velocity: float = 1.0
    acceleration: float = 0.0


def joint_positions(motion: torch.Tensor, terms: GeometryTerms) -> torch.Tensor:
    """Model-layout motion ``(b, n, 3 + 6 j)`` to joint positions ``(b, n, j, 3)`` metres."""
    root = terms.statistics.denormalise(motion[..., :3])
    matrices = sixd_to_matrix(motion[..., 3:].unflatten(-1, (-1, 6)))  # (b, n, j, 3, 3)
    offsets = torch.as_tensor(terms.skeleton.offsets, dtype=motion.dtype, device=motion.device)
    return forward_kinematics(root, matrices, offsets, terms.skeleton.parents)


def geometric_errors(
    predicted: torch.Tensor, actual: torch.Tensor, weight: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Weighted mean squared errors of joint positions ``(b, n, j, 3)``, of their first and of
    their second differences over frames; ``weight (b, n, 1, 1)`` weighs a frame, and a
    difference by the frame it reaches (the last frame it reads)."""
    position = (weight * (predicted - actual).square()).mean()
    velocity = (weight[:, 1:] * (predicted.diff(dim=1) - actual.diff(dim=1)).square()).mean()
    second = predicted.diff(n=2, dim=1) - actual.diff(n=2, dim=1)
    acceleration = (weight[:, 2:] * second.square()).mean()
    return {"position": position, "velocity": velocity, "acceleration": acceleration}


def known_prefix(
    batch: int, frames: int, overlap: int, probability: float, generator=None
) -> torch.Tensor:
    """``(b, n)`` bool: with ``probability`` per window, its first ``k ~ U{1..overlap}`` frames
    are known (clean, time 0), as the windowed sampler gives them; never all frames."""
    if overlap == 0 or probability == 0.0:
        return torch.zeros(batch, frames, dtype=torch.bool)
    count = torch.randint(1, overlap + 1, (batch,), generator=generator).clamp_max(frames - 1)
    count = torch.where(torch.rand(batch, generator=generator) < probability, count, 0)
    return torch.arange(frames)[None, :] < count[:, None]


def noisy_word_vectors(
    text: torch.Tensor, share: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``text (b, s, d)`` plus Gaussian noise whose standard deviation is ``share`` times each
    vector's RMS over ``d`` (zero vectors stay zero); ``share = 0`` returns ``text`` itself."""
    if share == 0.0:
        return text
    rms = text.square().mean(dim=-1, keepdim=True).sqrt()
    noise = torch.randn(text.shape, generator=generator).to(text)
    return text + share * rms * noise


def snr_weights(
    schedule: NoiseSchedule, time: torch.Tensor, cap: float, prediction: Prediction
) -> torch.Tensor:
    """Per-window weights of the target MSE for windows at ``time (b,)``: the x0 error weighted
    by ``clamp(snr, 1, cap)`` (Min-SNR-gamma, Hang et al. 2023, arXiv 2303.09556, with a floor
    of 1 so that the noisiest steps, where sampling starts, keep the unweighted x0 loss), put
    in the prediction's own units (its MSE is ``snr`` (eps) or ``1 + snr`` (v) times the x0
    MSE). ``cap = 0`` gives ones: the plain MSE of the prediction."""
    if cap == 0.0:
        return torch.ones_like(time)
    snr = schedule.snr(time)
    weight = snr.clamp(1.0, cap)
    if prediction == "epsilon":
        return weight / snr.clamp_min(1e-6)
    if prediction == "v":
        return weight / (1.0 + snr)
    return weight


def diffusion_loss(
    network: DiffusionDenoiser,
    motion: torch.Tensor,
    speech: Speech,
    speaker: torch.Tensor,
    generator: torch.Generator | None = None,
    geometry: GeometryTerms | None = None,
    snr_cap: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss of one batch of windows. ``motion (b, n, 3 + 6 j)`` in the model output layout
    (as ``model.losses.motion_to_target`` makes it), ``speech`` of the same frames, ``speaker
    (b,)``; ``snr_cap`` weighs each window's target MSE by :func:`snr_weights`. Returns
    ``(total, parts)``; parts (detached): ``target`` (the weighted MSE) and, with
    ``geometry``, ``position``, ``velocity`` and ``acceleration``."""
    c = network.config
    schedule = NoiseSchedule(c.schedule)
    b = motion.shape[0]
    x0 = network.normalise(motion)
    time = torch.rand(b, generator=generator).to(motion)
    noise = torch.randn(motion.shape, generator=generator).to(motion)
    keep = torch.rand(b, generator=generator).to(motion.device) >= c.condition_dropout
    n = motion.shape[1]
    known = known_prefix(b, n, c.overlap, c.prefix_probability, generator).to(motion.device)
    frame_time = torch.where(known, torch.zeros_like(time)[:, None], time[:, None])  # (b, n)
    alpha, sigma = (v[..., None] for v in schedule.alpha_sigma(frame_time))  # (b, n, 1)
    z = add_noise(x0, noise, alpha, sigma)  # known frames: alpha = 1, sigma = 0, clean
    if c.use_text and c.text_noise > 0.0 and speech.text is not None:
        speech = replace(speech, text=noisy_word_vectors(speech.text, c.text_noise, generator))
    output = network(z, frame_time, speech, speaker, keep)
    target = prediction_target(x0, noise, alpha, sigma, c.prediction)
    new = (~known)[..., None].to(motion.dtype)  # (b, n, 1): the loss is on frames to sample
    weight = snr_weights(schedule, time, snr_cap, c.prediction)[:, None, None]  # (b, 1, 1)
    squared = (output - target).square() * new * weight
    target_loss = squared.sum() / (new.sum() * motion.shape[2])
    parts = {"target": target_loss}
    total = target_loss
    if geometry is not None:
        estimate, _ = split_prediction(output, z, alpha, sigma, c.prediction)
        # known frames are the clean past, as in sampling: the differences that reach the
        # first new frame are taken from it, not from the network's output there
        estimate = torch.where(known[..., None], x0, estimate)
        predicted = joint_positions(network.denormalise(estimate), geometry)  # (b, n, j, 3)
        actual = joint_positions(motion, geometry)
        signal = schedule.alpha_bar(time)[:, None, None, None]  # (b, 1, 1, 1): alpha_t^2
        errors = geometric_errors(predicted, actual, signal * new[..., None])
        parts.update(errors)
        total = total + geometry.position * errors["position"]
        total = total + geometry.velocity * errors["velocity"]
        total = total + geometry.acceleration * errors["acceleration"]
    return total, {name: value.detach() for name, value in parts.items()}


def distillation_loss(
    student: DiffusionDenoiser,
    teacher: Predictor,
    motion: torch.Tensor,
    speech: Speech,
    speaker: torch.Tensor,
    student_steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """MSE between the student's prediction and :func:`distillation_target` at times on the
    student's grid ``{1/N, ..., 1}`` (``N = student_steps``). ``teacher(z, time)`` is the
    teacher's predictor (e.g. ``guided(network_denoiser(teacher, speech, speaker), scale)``,
    which distils the guidance into the student); the student is conditioned (keep = True)."""
    c = student.config
    schedule = NoiseSchedule(c.schedule)
    b = motion.shape[0]
    x0 = student.normalise(motion)
    index = torch.randint(1, student_steps + 1, (b,), generator=generator)
    time = (index.to(motion.dtype) / student_steps).to(motion.device)
    noise = torch.randn(motion.shape, generator=generator).to(motion)
    alpha, sigma = (v[:, None, None] for v in schedule.alpha_sigma(time))
    z = add_noise(x0, noise, alpha, sigma)
    target = distillation_target(teacher, z, time, 1.0 / student_steps, schedule, c.prediction)
    keep = torch.ones(b, dtype=torch.bool, device=motion.device)
    return (student(z, time, speech, speaker, keep) - target).square().mean()
