"""Which selective scan is faster here: the Python loop or the chunked cumulative-sum scan
(``llavataros.models.face.mamba``), on one thread; and the face model's cost per second of
speech (offline and streaming).

Prints, per case (inference: batch 1, 60 s at 30 fps; training: batch 16, 93-frame windows
with backward), the median wall time of the loop and of the chunked scan at several chunk
sizes, then the default face model's real-time factor offline and per 1-frame stream push.

Usage: ``PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/face_scan.py``
"""

from __future__ import annotations

import statistics
import time

import torch

from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.mamba import selective_scan_chunked, selective_scan_loop
from llavataros.models.face.network import FaceModel
from llavataros.models.face.stream import FaceStream, generate_face


def median_seconds(call, repeats: int = 5) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def scan_inputs(batch: int, frames: int, inner: int = 128, state: int = 16, grad: bool = False):
    x = torch.randn(batch, frames, inner, requires_grad=grad)
    delta = torch.rand(batch, frames, inner) * 0.1
    return (
        x,
        delta,
        -torch.rand(inner, state) * state,
        torch.randn(batch, frames, state),
        torch.randn(batch, frames, state),
        torch.randn(inner),
        torch.zeros(batch, inner, state),
    )


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cases = {
        "inference b=1 t=1800": (1, 1800, False),
        "training b=16 t=93 +backward": (16, 93, True),
    }
    print(f"{'case':32s} {'scan':12s} {'ms':>9s}")
    for name, (batch, frames, grad) in cases.items():
        args = scan_inputs(batch, frames, grad=grad)
        scans = {"loop": lambda a=args: selective_scan_loop(*a)}
        for chunk in (16, 64, 256):
            scans[f"chunked {chunk}"] = lambda a=args, c=chunk: selective_scan_chunked(*a, c)
        for scan_name, scan in scans.items():

            def call(scan=scan, grad=grad):
                if grad:
                    scan()[0].sum().backward()
                else:
                    with torch.inference_mode():
                        scan()

            print(f"{name:32s} {scan_name:12s} {1000 * median_seconds(call, 3):9.1f}")

    for scan in ("loop", "chunked"):
        model = FaceModel(FaceModelConfig(scan=scan)).eval()
        frames = 1800  # 60 s
        audio = torch.randn(1, frames, model.config.audio_dim)
        speaker = torch.zeros(1, dtype=torch.long)
        offline = median_seconds(lambda m=model, a=audio, s=speaker: generate_face(m, a, s), 3)
        stream = FaceStream(model)
        pushes = []
        for k in range(300):
            started = time.perf_counter()
            stream.push(audio[:, k : k + 1], speaker)
            pushes.append(time.perf_counter() - started)
        print(
            f"face model ({scan} scan, {sum(p.numel() for p in model.parameters())} parameters): "
            f"offline {offline / 60:.4f} x real time; stream push of 1 frame "
            f"median {1000 * statistics.median(pushes):.2f} ms "
            f"({statistics.median(pushes) * 30:.3f} x real time)"
        )


if __name__ == "__main__":
    main()
