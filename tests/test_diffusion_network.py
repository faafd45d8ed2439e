"""The adaLN-Zero denoiser (models/diffusion/network.py): identity blocks at init, causality
with a fixed speech lookahead (and an optional token lookahead), null conditions, audio-only,
a WavLM feature folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_helpers import features, randomised, tiny_config
from llavataros.errors import InputError
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.network import (
    AdaLNZeroBlock,
    DiffusionDenoiser,
    causal_mask,
    slice_speech,
)
from llavataros.models.diffusion.windows import SamplerSettings, generate
from tiny_speech_models import save_tiny_speech_model


def test_causal_mask_with_lookahead():
    assert causal_mask(4, 0).int().tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1] * 4]
    assert causal_mask(3, 1).int().tolist() == [[1, 1, 0], [1, 1, 1], [1, 1, 1]]


def test_adaln_zero_blocks_start_as_the_identity():
    torch.manual_seed(0)
    network = DiffusionDenoiser(tiny_config())
    x, condition = torch.randn(3, 10, 24), torch.randn(3, 10, 24)
    for block in network.blocks:
        assert isinstance(block, AdaLNZeroBlock)
        torch.testing.assert_close(block(x, condition, causal_mask(10)), x, rtol=0, atol=0)
    # The whole network starts at prediction 0 (zero head), whatever the input.
    config = network.config
    text, mask, audio, speaker = features(config, 10)
    speech = slice_speech(text, mask, audio, 0, 10, config.lookbehind, config.lookahead)
    z = torch.randn(2, 10, config.motion_dim)
    assert network(z, torch.rand(2), speech, speaker).abs().max() == 0


def _call(network, z, time, text, mask, audio, speaker, keep=None):
    c = network.config
    speech = slice_speech(text, mask, audio, 0, z.shape[1], c.lookbehind, c.lookahead)
    with torch.no_grad():
        return network(z, time, speech, speaker, keep)


def test_frame_depends_only_on_its_past_motion_and_speech_up_to_the_lookahead():
    network = randomised(tiny_config())
    c = network.config
    frames, cut = 14, 6
    text, mask, audio, speaker = features(c, frames)
    z, time = torch.randn(2, frames, c.motion_dim), torch.tensor([0.3, 0.8])
    reference = _call(network, z, time, text, mask, audio, speaker)

    later = cut + c.lookahead + 1  # first speech frame frame `cut` may not read
    audio2, text2 = audio.clone(), text.clone()
    audio2[:, later:] += 5.0
    text2[:, later:] -= 3.0
    changed = _call(network, z, time, text2, mask, audio2, speaker)
    torch.testing.assert_close(changed[:, : cut + 1], reference[:, : cut + 1], rtol=0, atol=1e-6)
    assert (changed[:, cut + 1 :] - reference[:, cut + 1 :]).abs().amax(dim=(0, 2)).min() > 1e-4

    z2 = z.clone()
    z2[:, cut + 1 :] += 2.0  # future motion
    changed = _call(network, z2, time, text, mask, audio, speaker)
    torch.testing.assert_close(changed[:, : cut + 1], reference[:, : cut + 1], rtol=0, atol=1e-6)
    assert (changed[:, cut + 1 :] - reference[:, cut + 1 :]).abs().max() > 1e-3


def test_whole_generation_is_causal_with_the_lookahead():
    """Sampled frame i (any window) depends on speech up to i + lookahead only, so the stream
    can emit it without later speech."""
    network = randomised(tiny_config())
    c = network.config
    text, mask, audio, speaker = features(c, 40)
    settings = SamplerSettings(steps=3, seed=5)
    reference = generate(network, text, mask, audio, speaker, settings)
    cut = 25  # in the second window
    audio2 = audio.clone()
    audio2[:, cut + c.lookahead + 1 :] = -audio2[:, cut + c.lookahead + 1 :]
    changed = generate(network, text, mask, audio2, speaker, settings)
    torch.testing.assert_close(changed[:, : cut + 1], reference[:, : cut + 1], rtol=0, atol=1e-6)
    assert (changed[:, cut + 1 :] - reference[:, cut + 1 :]).abs().max() > 1e-3


def test_attention_lookahead_reaches_that_many_motion_frames_per_layer():
    network = randomised(tiny_config(attention_lookahead=2), scale=0.2)  # 0.3 saturates softmax
    c = network.config  # depth 2
    frames, cut = 16, 4
    reach = cut + c.attention_lookahead * c.depth  # the last motion frame `cut` reads: 8
    text, mask, audio, speaker = features(c, frames)
    z, time = torch.randn(2, frames, c.motion_dim), torch.tensor([0.3, 0.8])
    reference = _call(network, z, time, text, mask, audio, speaker)
    beyond, at = z.clone(), z.clone()
    beyond[:, reach + 1 :] += 2.0
    at[:, reach] += 2.0
    changed = _call(network, beyond, time, text, mask, audio, speaker)
    torch.testing.assert_close(changed[:, : cut + 1], reference[:, : cut + 1], rtol=0, atol=1e-6)
    changed = _call(network, at, time, text, mask, audio, speaker)
    assert (changed[:, cut] - reference[:, cut]).abs().max() > 1e-4


def test_attention_lookahead_setting():
    stored = tiny_config().to_dict()
    del stored["attention_lookahead"]  # a model saved before the option: causal, as trained
    assert DiffusionConfig.from_dict(stored).attention_lookahead == 0
    with pytest.raises(InputError, match="attention_lookahead must be an integer >= 0, got -1"):
        tiny_config(attention_lookahead=-1)


def test_smoothing_span_is_a_per_model_setting():
    stored = tiny_config().to_dict()
    del stored["smoothing_seconds"]  # a model saved before the setting: the span it was tuned at
    assert DiffusionConfig.from_dict(stored).smoothing_seconds == pytest.approx(14 / 30)
    stored["smoothing_seconds"] = 0  # a whole number in model.json or YAML
    assert DiffusionConfig.from_dict(stored).smoothing_seconds == 0.0
    assert randomised(tiny_config(smoothing_seconds=0.4)).smoothing_seconds == 0.4
    with pytest.raises(InputError, match=r"smoothing_seconds must be in \[0, 5\], got -0.1"):
        tiny_config(smoothing_seconds=-0.1)


def test_generation_with_attention_lookahead_reads_speech_up_to_its_window_end():
    """With token lookahead, a window's frames depend on all its speech plus the speech
    lookahead (not on later speech): the stream still emits a window when that has arrived."""
    network = randomised(tiny_config(attention_lookahead=2), scale=0.2)
    c = network.config  # window 16, lookahead 3
    text, mask, audio, speaker = features(c, 40)
    settings = SamplerSettings(steps=3, seed=5)
    reference = generate(network, text, mask, audio, speaker, settings)
    after, inside = audio.clone(), audio.clone()
    after[:, c.window + c.lookahead :] *= -1.0  # after the first window's speech
    inside[:, c.window - 1] *= -1.0  # the first window's last frame
    changed = generate(network, text, mask, after, speaker, settings)
    torch.testing.assert_close(changed[:, : c.window], reference[:, : c.window], rtol=0, atol=1e-6)
    changed = generate(network, text, mask, inside, speaker, settings)
    early = c.window - 1 - c.lookahead  # frames a causal model's output could not read it from
    assert (changed[:, :early] - reference[:, :early]).abs().max() > 1e-3


def test_null_condition_ignores_speech_but_not_the_speaker():
    network = randomised(tiny_config())
    c = network.config
    text, mask, audio, speaker = features(c, 12)
    z, time = torch.randn(2, 12, c.motion_dim), torch.tensor([0.5, 0.5])
    drop = torch.zeros(2, dtype=torch.bool)
    null = _call(network, z, time, text, mask, audio, speaker, drop)
    other = _call(network, z, time, -text, ~mask, audio * 3 + 1, speaker, drop)
    torch.testing.assert_close(other, null, rtol=0, atol=1e-6)
    conditioned = _call(network, z, time, text, mask, audio, speaker, ~drop)
    assert (conditioned - null).abs().max() > 1e-3
    other_speaker = _call(network, z, time, text, mask, audio, speaker.flip(0), drop)
    assert (other_speaker - null).abs().max() > 1e-3


def test_audio_only_model_reads_no_text():
    network = randomised(tiny_config(use_text=False))
    c = network.config
    assert not any("text" in name or "no_word" in name for name, _ in network.named_parameters())
    _, _, audio, speaker = features(c, 20)
    motion = generate(network, None, None, audio, speaker, SamplerSettings(steps=2))
    assert motion.shape == (2, 20, c.motion_dim) and torch.isfinite(motion).all()
    with pytest.raises(ValueError, match="word vectors"):
        text_model = randomised(tiny_config())
        generate(text_model, None, None, audio, speaker, SamplerSettings(steps=2))


def test_unknown_speaker_is_an_input_error():
    network = randomised(tiny_config())
    text, mask, audio, _ = features(network.config, 10)
    with pytest.raises(InputError, match="unknown speaker id 3"):
        generate(network, text, mask, audio, torch.tensor([0, 3]))


def test_wavlm_folder_features_condition_the_model(tmp_path):
    """Frame-aligned WavLM features (TransformersAudioEncoder on a tiny random model saved in
    the test) drive the denoiser: different audio, different motion."""
    from llavataros.features.audio_encoders import TransformersAudioEncoder

    save_tiny_speech_model("wavlm", tmp_path, layers=1)
    encoder = TransformersAudioEncoder(tmp_path, fps=30.0)
    network = randomised(tiny_config(audio_dim=encoder.dim, use_text=False))
    rng = np.random.default_rng(0)
    frames = 30
    rows = [encoder.extract(rng.standard_normal(16000).astype(np.float32), frames) for _ in "ab"]
    audio = torch.from_numpy(np.stack(rows))  # (2, 30, 16)
    speaker = torch.zeros(1, dtype=torch.long)
    same_noise = SamplerSettings(steps=2, seed=0)
    first = generate(network, None, None, audio[:1], speaker, same_noise)
    again = generate(network, None, None, audio[:1], speaker, same_noise)
    second = generate(network, None, None, audio[1:], speaker, same_noise)
    assert first.shape == (1, frames, network.config.motion_dim)
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert (first - second).abs().max() > 1e-3  # same noise, other audio: other motion


def test_generated_motion_has_the_llanimation_output_layout():
    """generate returns the layout output_to_motion reads: a (T, 9, 7) take with the skeleton's
    bone lengths (forward kinematics), as the Transformer-XL model's output."""
    from llavataros.models.geometry import RootStatistics, output_to_motion
    from llavataros.motion.skeleton import AVATAROS

    network = randomised(tiny_config(num_joints=AVATAROS.num_joints))
    text, mask, audio, speaker = features(network.config, 25, batch=1)
    output = generate(network, text, mask, audio, speaker, SamplerSettings(steps=2))
    stats = RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1))
    motion = output_to_motion(output, stats, AVATAROS, fps=30.0)
    array = motion.to_array(np.float64)
    assert array.shape == (25, AVATAROS.num_joints, 7)
    bones = np.linalg.norm(array[:, 1:, :3] - array[:, list(AVATAROS.parents[1:]), :3], axis=-1)
    np.testing.assert_allclose(bones, np.broadcast_to(AVATAROS.bone_lengths, bones.shape))
