"""The ``llavataros`` command: a thin shell over the library (STYLE.md rule 7).

Each sub-command maps its flags onto one library call. User mistakes (:class:`InputError`)
print one line ``llavataros: error: FILE: problem`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from llavataros.errors import InputError
from llavataros.motion.timing import MODEL_FPS
from llavataros.serve.processes import default_processes

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# checkpoint.DEFAULT_MODEL's and learned_mouth.SHIPPED_FACE_MODEL's folders, named here so that
# --help and the parent process of a several-process server need no torch import
SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "diffusion"
SHIPPED_FACE_MODEL = Path(__file__).resolve().parent / "assets" / "face"


def _model_help(default: str) -> str:
    return (
        "a shipped model by family (llanimation, diffusion), a run folder, a model folder or "
        f"RUN/checkpoints/NAME.ckpt (default: the shipped {default})"
    )


MODEL_HELP = _model_help("diffusion model")
DEFAULT_PROCESSES = default_processes()
SERVE_MODEL_HELP = _model_help(
    "llanimation model, whose stream waits 0.7 s where diffusion's waits 3.9 s"
)


def _cmd_info(args: argparse.Namespace) -> int:
    from llavataros.motion.info import describe_array, format_description
    from llavataros.motion.take import load_raw_array, take_fps

    array = load_raw_array(args.take)
    info = describe_array(array, take_fps(args.take, len(array), args.fps), source=args.take)
    print(json.dumps(info, indent=1) if args.json else format_description(info))
    return 0


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from llavataros.speech.audio import load_audio
    from llavataros.speech.frontend import read_transcript_argument, words_for_audio
    from llavataros.speech.words import save_words_json

    audio = load_audio(args.audio)
    transcript = read_transcript_argument(args.transcript) if args.transcript else None
    words = words_for_audio(audio, transcript)
    out = Path(args.output or Path(args.audio).with_suffix(".words.json"))
    save_words_json(words, out)
    print(f"{out}: {len(words.words)} words ({words.source})")
    return 0


def _add_face_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--face-model",
        help="face model folder whose mouth animates speech without known words (default: the "
        "shipped one; 'none': a jaw that follows loudness)",
    )


def _add_speed_limit_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--speed-limit",
        type=float,
        metavar="SECONDS",
        help="where the wrists move faster than the training takes' did (else 1.6-2.2 m/s), "
        "smooth over SECONDS (0: no limit; "
        "default: the model's: diffusion 0.8, Transformer-XL none, as it would delay the live "
        "stream by about 0.5 s)",
    )


def _speed_limit(args: argparse.Namespace) -> float | None:
    """``--speed-limit``, checked before any model loads."""
    if args.speed_limit is not None:
        from llavataros.motion.smoothing import SpeedLimit

        SpeedLimit.over(args.speed_limit)
    return args.speed_limit


def _face_model(option: str | None):
    """``--face-model``: None -> the shipped face model, 'none' -> no face model."""
    if option is None:
        return SHIPPED_FACE_MODEL
    return None if option.lower() == "none" else option


def _cmd_features(args: argparse.Namespace) -> int:
    from llavataros.data.prepare import compute_corpus_features

    summary = compute_corpus_features(
        args.data_dir,
        fps=args.fps,
        cache_dir=args.cache,
        text_model=args.text_model,
        audio_model=args.audio_model,
    )
    print(json.dumps(summary, indent=1))
    return 0


def _cmd_synth_corpus(args: argparse.Namespace) -> int:
    from llavataros.corpus.generate import generate_corpus

    summary = generate_corpus(
        args.out,
        minutes=args.minutes,
        speakers=args.speakers,
        seed=args.seed,
        mirror=args.mirror,
        workers=args.workers,
        novel_contexts=args.novel_contexts,
    )
    print(f"{args.out}: {len(summary['takes'])} takes, {summary['seconds'] / 60:.1f} min")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from llavataros.training.train import train

    run_dir = train(
        data_dir=args.data,
        out_dir=args.out,
        config_path=args.config,
        resume=args.resume,
        overrides=args.set or [],
    )
    print(f"trained: {run_dir}")
    return 0


def _add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """``--steps``, ``--guidance``, ``--seed``, ``--temperature``, ``--eta``: options of models
    that sample (diffusion)."""
    parser.add_argument(
        "--steps", type=int, help="diffusion models: DDIM sampling steps (default: the model's)"
    )
    parser.add_argument(
        "--guidance",
        type=float,
        help="diffusion models: classifier-free guidance scale, 1 = conditional only "
        "(default: the model's)",
    )
    parser.add_argument(
        "--seed", type=int, help="diffusion models: random seed; the same seed, the same motion"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        help="diffusion models: scale of the initial noise, 1 = the model's distribution; lower "
        "is calmer and less varied (default: the model's; the shipped one's is 0.4)",
    )
    parser.add_argument(
        "--eta",
        type=float,
        help="diffusion models: DDIM eta in [0, 1], the share of fresh noise per step; 0 is "
        "deterministic given the seed's initial noise, 1 is ancestral (default 0)",
    )


def _sampling(args: argparse.Namespace) -> dict:
    names = ("steps", "guidance", "seed", "temperature", "eta")
    return {name: getattr(args, name) for name in names}


def _cmd_distill(args: argparse.Namespace) -> int:
    from llavataros.training.distill import distill_run

    out = distill_run(
        args.model,
        args.out,
        steps_to=args.steps_to,
        data_dir=args.data,
        steps_from=args.steps_from,
        iterations=args.iterations,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    print(f"distilled: {out}")
    return 0


def _add_distill_command(add) -> None:
    p = add(
        "distill",
        _cmd_distill,
        "Distil a diffusion model into a few-step one (progressive distillation: halve the "
        "sampling steps each round).",
    )
    p.add_argument("--model", required=True, help="diffusion run folder or model folder (teacher)")
    p.add_argument("--out", required=True, help="new run folder for the distilled model")
    p.add_argument(
        "--steps-to", type=int, default=1, help="sampling steps of the result (default 1)"
    )
    p.add_argument(
        "--steps-from", type=int, help="the teacher's sampling steps (default: the model's)"
    )
    p.add_argument("--data", help="corpus folder (default: the one the teacher was trained on)")
    p.add_argument(
        "--iterations", type=int, default=200, help="optimiser steps per halving (default 200)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="windows per step (default 32)")
    p.add_argument("--learning-rate", type=float, default=1e-4, help="Adam rate (default 1e-4)")
    p.add_argument("--seed", type=int, default=0, help="seed of windows, times and noise")


def _cmd_animate(args: argparse.Namespace) -> int:
    from llavataros.pipeline.preflight import preflight_animate
    from llavataros.pipeline.progress import StageBar

    speed_limit = _speed_limit(args)
    checked = preflight_animate(
        args.audio, args.output, args.transcript, args.fps, args.speaker, args.model
    )  # before any model loads: one line per problem
    failures = len(checked.failures)
    for error in checked.failures:
        _print_error(error)
    if checked.inputs:
        from llavataros.pipeline.animate import Animator  # imports torch: after the checks

        animator = Animator.load(
            args.model,
            text_model=args.text_model,
            audio_model=args.audio_model,
            threads=args.threads,
            face_model=_face_model(args.face_model),
        )
        animator.set_sampling(**_sampling(args))
        animator.speed_limit_seconds = speed_limit
    for item in checked.inputs:
        try:
            with StageBar(item.name) as bar:
                written = animator.animate_to_files(
                    item.audio,
                    args.output,
                    transcript=item.transcript,
                    fps=args.fps,
                    speaker=args.speaker,
                    video=not args.no_video,
                    smooth=not args.no_smooth,
                    gltf=args.gltf,
                    face=not args.no_face,
                    progress=bar,
                )
        except InputError as error:  # this input fails, the batch goes on
            _print_error(error)
            failures += 1
            continue
        for path in written:
            print(path)
        _print_word_warnings(written)
    return _batch_status(failures, checked.total)


def _print_error(error: InputError) -> None:
    print(f"llavataros: error: {error}", file=sys.stderr)


def _print_word_warnings(written: list[Path]) -> None:
    """The speech front-end's doubts (``words.json`` ``warnings``), one line each on stderr."""
    for path in written:
        if path.name.endswith(".words.json"):
            for warning in json.loads(path.read_text()).get("warnings") or ():
                print(f"llavataros: warning: {path}: {warning}", file=sys.stderr)


def _batch_status(failures: int, total: int) -> int:
    """Exit status of a batch: 0, or 2 (with "N of M inputs failed" on stderr for several)."""
    if failures and total > 1:
        print(f"llavataros: error: {failures} of {total} inputs failed", file=sys.stderr)
    return 2 if failures else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from llavataros.export.gltf import export_take

    print(export_take(args.motion, args.output, args.face, args.audio, args.fps))
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from llavataros.motion.take import load_take
    from llavataros.render.video import render_video

    motions = [load_take(path, fps=args.fps, audio=args.audio) for path in args.motion]
    out = render_video(motions, args.output, audio_path=args.audio, titles=args.title)
    print(out)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from llavataros.eval.evaluate import evaluate

    report = evaluate(
        data_dir=args.data,
        model=args.model,
        motions_dir=args.motions,
        split=args.split,
        fgd_extractor=args.fgd,
        output=args.output,
        real_dir=args.real,
        sampling=_sampling(args),
    )
    print(json.dumps(report["summary"], indent=1))
    return 0


def _cmd_fgd_train(args: argparse.Namespace) -> int:
    from llavataros.eval.fgd import train_fgd_from_corpus

    out = train_fgd_from_corpus(args.data, args.out, epochs=args.epochs, seed=args.seed)
    print(out)
    return 0


def _version() -> str:
    """The installed package's version (its metadata), else the source tree's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llavataros")
    except PackageNotFoundError:
        from llavataros import __version__

        return __version__


def _speaker_help() -> str:
    """``--speaker`` help naming the shipped model's speakers and default (read from its
    model.json, the same fields the check uses)."""
    text = "speaker/style name or id the model was trained on (default: the model's own"
    try:
        metadata = json.loads((SHIPPED_MODEL / "model.json").read_text())
        names = metadata["speakers"]["names"]
        accepted = metadata.get("training_speakers") or names
        default = names[int(metadata.get("default_speaker", 0))]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return text + ")"
    return f"{text}; shipped model: {', '.join(accepted)}, default {default})"


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.processes < 1:
        raise InputError(None, f"--processes must be at least 1, got {args.processes}")
    options = {
        "model": args.model,
        "max_connections": args.max_connections,
        "workers": args.workers,
        "batch_wait": args.batch_wait_ms / 1000,
        "face_model": _face_model(args.face_model),
        "speed_limit": _speed_limit(args),
    }
    if args.processes > 1:  # this process only hands connections over: it loads no model
        from llavataros.serve.processes import serve_processes

        serve_processes(args.host, args.port, args.processes, **options)
    else:
        from llavataros.serve.server import run_server

        run_server(args.host, args.port, **options)
    return 0


def _cmd_client(args: argparse.Namespace) -> int:
    from llavataros.serve.client import run_client

    written = run_client(
        args.audio,
        args.url,
        args.output,
        args.speed,
        args.transcript,
        args.speaker,
        args.words_hold,
    )
    for path in written:
        print(path)
    return 0


def add_live_commands(add: Callable) -> None:
    """``serve`` and ``client`` (the live avatar, docs/PROTOCOL.md)."""
    p = add("serve", _cmd_serve, "Serve the live avatar: WebSocket API at /ws, viewer at /.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    p.add_argument("--model", help=SERVE_MODEL_HELP)
    p.add_argument(
        "--max-connections", type=int, default=8, help="streams served at once (default 8)"
    )
    p.add_argument(
        "--processes",
        type=int,
        default=DEFAULT_PROCESSES,
        help="server processes behind the one port, each streams the connections it is given "
        f"(default: one per core, at most 4; here {DEFAULT_PROCESSES})",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="inference threads per process (default: one per connection with batching, else 2)",
    )
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=30.0,
        help="ms a push waits for the other streams' pushes to share a forward pass "
        "(default 30; 0: no batching)",
    )
    _add_face_model_argument(p)
    _add_speed_limit_argument(p)

    p = add("client", _cmd_client, "Stream a recording to a server; write its frames + latency.")
    p.add_argument("audio", help="speech recording (any format ffmpeg reads)")
    p.add_argument("--url", default="ws://127.0.0.1:8765/ws", help="server WebSocket URL")
    p.add_argument("-o", "--output", default="out", help="output folder (default: out)")
    p.add_argument(
        "--speed", type=float, default=1.0, help="times real time to send audio (default 1)"
    )
    p.add_argument(
        "--transcript", help="text, .txt, .json words or .TextGrid (default: live words)"
    )
    p.add_argument(
        "--words-hold",
        type=float,
        help="seconds frames may wait for live words (server default 3; 0: lowest latency)",
    )
    p.add_argument("--speaker", help=_speaker_help())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llavataros",
        description="Speech-driven upper-body gestures for the AvatarOS skeleton.",
    )
    parser.add_argument("--version", action="version", version=f"llavataros {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str):
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    p = add("animate", _cmd_animate, "Generate gestures for speech: .npy, .bvh, .mp4, .words.json.")
    p.add_argument("audio", nargs="+", help="speech recordings (any format ffmpeg reads)")
    p.add_argument(
        "--transcript",
        action="append",
        help="text, .txt, .json words or .TextGrid (once per audio file); default: Whisper",
    )
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument(
        "--fps", type=float, help="output frame rate (default: the training corpus rate)"
    )
    p.add_argument("--speaker", help=_speaker_help())
    p.add_argument("--no-video", action="store_true", help="skip the .mp4")
    p.add_argument("--no-face", action="store_true", help="skip NAME.face.npy and NAME.face.csv")
    p.add_argument("--no-smooth", action="store_true", help="skip Savitzky-Golay smoothing")
    _add_face_model_argument(p)
    _add_speed_limit_argument(p)
    p.add_argument("--gltf", action="store_true", help="also write NAME.glb (skinned avatar)")
    p.add_argument("--text-model", help="transformers model folder for word vectors")
    p.add_argument("--audio-model", help="transformers speech encoder folder (WavLM, wav2vec 2.0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    _add_sampling_arguments(p)
    p.add_argument("-o", "--output", default="out", help="output folder (default: out)")

    p = add(
        "transcribe",
        _cmd_transcribe,
        "Word times for a recording (align a transcript or run Whisper).",
    )
    p.add_argument("audio", help="speech recording (any format ffmpeg reads)")
    p.add_argument("--transcript", help="text, .txt, .json words or .TextGrid to align")
    p.add_argument("-o", "--output", help="words.json path (default: AUDIO.words.json)")

    p = add("features", _cmd_features, "Compute and cache model inputs for a folder of takes.")
    p.add_argument("data_dir", help="folder of takes (NAME.npy + NAME.wav + words)")
    p.add_argument(
        "--fps", type=float, default=MODEL_FPS, help=f"feature frame rate (default {MODEL_FPS:g})"
    )
    p.add_argument("--cache", help="cache folder (default: DATA_DIR/.cache)")
    p.add_argument("--text-model", help="transformers model folder (default: bundled MiniLM)")
    p.add_argument("--audio-model", help="transformers speech encoder (default: prosody features)")

    p = add("info", _cmd_info, "Describe an AvatarOS .npy take: frames, fps, bones, quaternions.")
    p.add_argument("take", help="AvatarOS .npy take (T, 9, 7)")
    p.add_argument("--fps", type=float, help="frame rate if there is no .wav or .json beside it")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")

    p = add("synth-corpus", _cmd_synth_corpus, "Generate the synthetic co-speech corpus.")
    p.add_argument("--out", required=True, help="folder to write the takes into")
    p.add_argument(
        "--minutes", type=float, default=60.0, help="speech to generate, minutes (default 60)"
    )
    p.add_argument(
        "--speakers", type=int, default=4, help="synthetic speakers (styles) (default 4)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--mirror", action="store_true", help="also write mirrored takes")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument(
        "--novel-contexts",
        action="store_true",
        help="sentences the training corpus never has (generalisation test)",
    )

    p = add("train", _cmd_train, "Train a model on a folder of takes.")
    p.add_argument("--data", required=True, help="folder of takes to train on")
    p.add_argument("--config", help="YAML config (default: the built-in default config)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set trainer.max_epochs=5",
    )

    _add_distill_command(add)

    p = add("export", _cmd_export, "Write a take as binary glTF: skinned avatar, body, face.")
    p.add_argument("motion", help="AvatarOS .npy take")
    p.add_argument("--face", help="(T, 52) ARKit blendshape weights .npy at the take's fps")
    p.add_argument("--audio", help="speech to copy beside the .glb (the viewer plays it)")
    p.add_argument("--fps", type=float, help="frame rate if there is no .wav or .json beside it")
    p.add_argument("-o", "--output", required=True, help="OUT.glb")

    p = add("render", _cmd_render, "Render takes to an .mp4 (several side by side).")
    p.add_argument("motion", nargs="+", help="AvatarOS .npy takes (several: side by side)")
    p.add_argument("--audio", help="speech to mux into the video")
    p.add_argument("--fps", type=float, help="frame rate if there is no .wav or .json beside it")
    p.add_argument("--title", action="append", help="caption of each take (once per take)")
    p.add_argument("-o", "--output", default="render.mp4", help="OUT.mp4 (default render.mp4)")

    p = add("evaluate", _cmd_evaluate, "Score a model (or a folder of motions) on a corpus split.")
    p.add_argument("--data", required=True, help="corpus folder (its split.json is used)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", help=MODEL_HELP)
    group.add_argument("--motions", help="folder of NAME.npy produced by any other system")
    p.add_argument(
        "--split",
        default="test",
        choices=["train", "validation", "test", "all"],
        help="which takes to score (default test)",
    )
    p.add_argument("--fgd", help="FGD extractor folder (default: the shipped one)")
    p.add_argument("--real", help="folder of real takes: also score realism (posture, bandwidth)")
    _add_sampling_arguments(p)
    p.add_argument("-o", "--output", help="metrics.json path")

    p = add(
        "fgd-train", _cmd_fgd_train, "Train the FGD feature extractor on a corpus' training split."
    )
    p.add_argument("--data", required=True, help="corpus folder (trains on its training split)")
    p.add_argument("--out", required=True, help="folder for the extractor")
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_live_commands(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except InputError as error:
        _print_error(error)
        return 2
    except KeyboardInterrupt:
        print("llavataros: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
