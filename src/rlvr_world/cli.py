"""`rlvr-world ...`: the command line, built on named presets.

rlvr-world quickstart [--domain robot|textgame|web] [--out DIR]   data -> MLE -> RLVR -> eval -> report
rlvr-world data --preset P --out DIR              simulate and save a dataset
rlvr-world train mle  --preset P [--out DIR] [--config F.yaml] [--resume] [key=value ...]
rlvr-world train rlvr --preset P --init RUN [--out DIR] [--resume] [key=value ...]
rlvr-world eval RUN [--split test] [--checkpoint best|latest|NAME]
rlvr-world export RUN --out DIR [--checkpoint best|latest|NAME]   standard HF model, LoRA merged
rlvr-world score textgame --data F --predictions F --reward R [--compat C] --out F
rlvr-world score web --data F --predictions F --out F
rlvr-world score video --pred P.npz --target T.npz [--lpips-net vgg|alex] --out S.json
rlvr-world report RUN [RUN ...] [--out F.html]
rlvr-world bench textgame|robot|web|mpc|policy-eval|throughput|distributed --out F.json
    [--runs DIR]
rlvr-world policy-eval --world-model RUN --task lift --policy expert
rlvr-world plan --domain web|textgame --world-model RUN|oracle|random [--task T] [--seed N]
rlvr-world config [--preset P]                    resolved config with field docs

Data-parallel: torchrun --nproc-per-node N -m rlvr_world.cli train mle|rlvr ... --out DIR

An error ends a command with one line `error: ...` naming the file or field, and exit code 2
when the command or its inputs are wrong (fix them and run again) or 1 when a run failed (disk
full, permission denied, a damaged checkpoint, divergence); `--debug` or RLVR_WORLD_DEBUG=1
shows the traceback instead. `train --resume` takes only the overrides in
`train.config.RESUME_OVERRIDES` (more steps, clocks, progress, threads) and prints them.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from pathlib import Path

import yaml


class UsageError(ValueError):
    """The command line asks for something that cannot be done as given (exit code 2)."""


def _config(args) -> object:
    from rlvr_world.train.presets import build_config

    return build_config(args.preset, *_overrides(args))


def _overrides(args) -> list[dict]:
    """The `--config` file's values, then each `key=value` override, as nested dicts."""
    from rlvr_world.train.config import parse_override

    overrides = []
    if getattr(args, "config", None):
        overrides.append(_config_file(Path(args.config)))
    overrides += [parse_override(text) for text in getattr(args, "overrides", None) or []]
    return overrides


def _config_file(path: Path) -> dict:
    """A YAML `--config` file's values (a mapping of config fields); anything else is a
    `ConfigError` naming the file."""
    from rlvr_world.train.config import ConfigError, check_sections

    where = f"--config {path}"
    if path.is_dir():
        raise ConfigError(f"{where}: is a directory, expected a YAML file")
    if not path.exists():
        raise FileNotFoundError(f"{where}: no such file")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text (a binary file?)") from None
    except (yaml.YAMLError, RecursionError) as error:
        reason = " ".join(str(error).split())[:200]
        raise ConfigError(f"{where}: not valid YAML ({reason})") from None
    return check_sections({} if values is None else values, where)


def _default_out(kind: str, preset: str) -> Path:
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{preset}-{kind}"


DEFAULT_QUICKSTART = "robot"
"""The domain `rlvr-world quickstart` runs without --domain or --preset: the paper's video
claim (multi-step robot video prediction)."""


def _preset_domain(preset: str | None) -> str | None:
    """The domain a preset is for (its `data.domain`), None without a preset."""
    if preset is None:
        return None
    from rlvr_world.train.presets import build_config

    return build_config(preset).data.domain


def cmd_quickstart(args) -> int:
    from rlvr_world.quickstart import quickstart

    domain = args.domain or _preset_domain(args.preset) or DEFAULT_QUICKSTART
    out = Path(args.out) if args.out else _default_out("quickstart", domain)
    summary = quickstart(out, domain=domain, overrides=args.overrides, preset=args.preset)
    print(json.dumps(summary, indent=2))
    print(f"report: {out / 'report.html'}")
    if summary.get("headline"):
        print(summary["headline"]["sentence"])
    return 0


def cmd_data(args) -> int:
    from rlvr_world.domains import get_domain

    config = _config(args)
    domain = get_domain(config.data.domain)
    if not domain.has("write_dataset"):
        raise UsageError(
            f"`data` writes text datasets; the {domain.name} domain's data comes with "
            "`train tokenizer`"
        )
    for line in domain.hook("write_dataset")(config, Path(args.out), args.format):
        print(line)
    return 0


def cmd_train(args) -> int:
    from rlvr_world.train.config import check_device
    from rlvr_world.train.distributed import launched_processes
    from rlvr_world.train.pipeline import run_mle, run_rlvr, run_tokenizer

    if args.resume:
        if not args.out:
            raise UsageError("--resume needs --out RUN (the run folder to continue)")
        config = _resumed_config(args)
    else:
        config = _config(args)
    check_device(config.device)
    if not args.out and launched_processes() > 1:
        raise UsageError("under torchrun every rank must be given the same --out RUN")
    out = Path(args.out) if args.out else _default_out(args.phase, args.preset)
    if args.phase == "tokenizer":
        run = run_tokenizer(config, out, force=args.force)
    elif args.phase == "mle":
        run = run_mle(config, out, resume=args.resume, init=args.init, force=args.force)
    else:
        run = run_rlvr(config, args.init, out, resume=args.resume, force=args.force)
    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 reports
        return 0
    print(f"run folder: {run}")
    print((run / "train_result.json").read_text().strip())
    return 0


def _resumed_config(args) -> object:
    """The config of the run in `--out`, with the `--config` / `key=value` overrides that
    `train.config.RESUME_OVERRIDES` allows applied and printed (others are refused)."""
    from rlvr_world.train.config import resume_overrides
    from rlvr_world.train.pipeline import check_resume_phase, load_run_config

    config = load_run_config(args.out)
    check_resume_phase(args.out, args.phase)
    if args.init:
        from rlvr_world.text.records import same_file
        from rlvr_world.train.run_folder import read_config

        recorded = read_config(args.out).get("init")
        if not recorded or not same_file(recorded, args.init):
            raise UsageError(
                f"--resume continues {args.out} from the run it started from ({recorded}); "
                "drop --init"
            )
    overrides = _overrides(args)
    if overrides:
        config, changes = resume_overrides(config, overrides)
        for change in changes:
            print(f"resume with {change}")
    return config


def cmd_eval(args) -> int:
    from rlvr_world.train.pipeline import best_of_run, evaluate_run

    if args.best_of:
        summary = best_of_run(args.run, args.best_of, split=args.split, checkpoint=args.checkpoint)
    else:
        summary = evaluate_run(args.run, split=args.split, checkpoint=args.checkpoint)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_export(args) -> int:
    from rlvr_world.train.pipeline import export_run

    out = export_run(args.run, args.out, checkpoint=args.checkpoint)
    print(f"exported {args.run} ({args.checkpoint}) -> {out}")
    return 0


def cmd_score(args) -> int:
    from rlvr_world.domains import get_domain

    summary = get_domain(args.domain).hook("score_files")(args)
    print(json.dumps(summary, indent=2))
    if summary.get("missing") and not summary.get("subset"):
        print(
            f"note: {summary['missing']} data rows have no prediction and score the reward's "
            "minimum (--subset scores the predicted rows only)",
            file=sys.stderr,
        )
    return 0


def cmd_score_video(args) -> int:
    from rlvr_world.core.checkpoint import atomic_write_text
    from rlvr_world.text.records import check_output_file
    from rlvr_world.video.metrics import load_frames, score_frames

    out = check_output_file(args.out, pred=args.pred, target=args.target)
    pred, target = load_frames(args.pred), load_frames(args.target)
    if pred.shape != target.shape:
        raise ValueError(
            f"field 'frames' shapes differ: {args.pred} {pred.shape}, {args.target} {target.shape}"
        )
    scores = score_frames(pred, target, lpips_net=args.lpips_net)
    atomic_write_text(out, json.dumps(scores, indent=2) + "\n")
    mean = scores["mean"]
    print(
        f"{len(scores['per_frame'])} frames: mae {mean['mae']:.4f} mse {mean['mse']:.4f} "
        f"psnr {mean['psnr']:.2f} ssim {mean['ssim']:.4f} lpips({args.lpips_net}) "
        f"{mean['lpips']:.4f} -> {out}"
    )
    return 0


def cmd_report(args) -> int:
    from rlvr_world.eval.report import write_report

    out = Path(args.out) if args.out else Path(args.runs[0]) / "report.html"
    write_report([Path(r) for r in args.runs], out)
    print(f"report: {out}")
    if args.screenshot:
        from rlvr_world.eval.report.browser import screenshot

        print(f"screenshot: {screenshot(out, Path(args.screenshot))}")
    return 0


GENERIC_BENCHES = {
    "throughput": "rlvr_world.bench.throughput:bench_throughput",
    "distributed": "rlvr_world.bench.distributed:bench_distributed",
}
"""Benches of no domain; each domain's come from its bundle (`Domain.benches`)."""


def bench_table() -> dict[str, str]:
    """Bench name -> `"module:function"`, the domains' benches and the generic ones."""
    from rlvr_world.domains import DOMAINS, get_domain

    table = {}
    for name in DOMAINS.names():
        table.update(get_domain(name).benches)
    return {**table, **GENERIC_BENCHES}


def cmd_bench(args) -> int:
    import inspect

    from rlvr_world.core.registry import Registry

    bench = Registry("bench").get(bench_table()[args.which])
    accepted = inspect.signature(bench).parameters
    options = {"runs": args.runs and Path(args.runs), "episodes": args.episodes}
    for name, value in options.items():
        if value and name not in accepted:
            takes = [b for b, t in bench_table().items() if name in _parameters(t)]
            raise ValueError(f"--{name} is for `bench {' / '.join(takes)}` only")
    extra = {k: v for k, v in options.items() if k in accepted and v is not None}
    result = bench(Path(args.out), quick=args.quick, **extra)
    print(json.dumps(result, indent=2))
    return 0


def _parameters(target: str) -> set[str]:
    import inspect

    from rlvr_world.core.registry import Registry

    return set(inspect.signature(Registry("bench").get(target)).parameters)


def cmd_plan(args) -> int:
    from rlvr_world.domains import get_domain

    domain = get_domain(args.domain)
    answer, config = None, None
    if args.world_model not in ("oracle", "random"):
        from rlvr_world.train.pipeline import load_text_world_model

        answer, config = load_text_world_model(args.world_model, args.checkpoint)
        if config.data.domain != domain.name:
            raise ValueError(f"{args.world_model}: a {config.data.domain} run, not {domain.name}")
    kind = args.world_model if args.world_model in ("oracle", "random") else "run"
    model = domain.hook("world_model")(kind, answer, config)
    return domain.hook("plan")(args, model, config, print)


def _training_function(name: str):
    """A run-loading function of `train.pipeline`, imported when a command first needs it."""
    from rlvr_world.train import pipeline

    return getattr(pipeline, name)


def cmd_config(args) -> int:
    from rlvr_world.train.config import describe
    from rlvr_world.train.context import plain

    config = _config(args)
    print(yaml.safe_dump(plain(config), sort_keys=False).rstrip())
    if args.describe:
        print()
        for name, default, doc in describe():
            print(f"{name:34s} {default:>14s}  {doc}")
    return 0


def _with_preset(p, default: str = "textgame-tiny") -> None:
    from rlvr_world.train.presets import preset_names

    p.add_argument("--preset", default=default, choices=preset_names(), help="named preset")
    p.add_argument("--config", help="YAML file of overrides (applied before key=value)")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. rlvr.steps=50")


def _add_run_commands(sub, domains: list[str]) -> None:
    """quickstart, data, train, eval, export."""
    p = sub.add_parser("quickstart", help="the embedded default: data -> MLE -> RLVR -> report")
    p.add_argument("--out", help="output folder (default runs/<time>-<domain>-quickstart)")
    p.add_argument(
        "--domain",
        choices=domains,
        help=f"default: the --preset's domain, else {DEFAULT_QUICKSTART} (multi-step video)",
    )
    p.add_argument("--preset", help="preset (default: the domain's quickstart preset)")
    p.add_argument("overrides", nargs="*", help="key=value overrides for both phases")
    p.set_defaults(func=cmd_quickstart)

    p = sub.add_parser("data", help="simulate transitions and save them")
    _with_preset(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "parquet"])
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train a world model")
    p.add_argument("phase", choices=["tokenizer", "mle", "rlvr"])
    _with_preset(p)
    p.add_argument("--out", help="run folder (default runs/<time>-<preset>-<phase>)")
    p.add_argument("--init", help="the run to start from (rlvr: required; mle: continue a run)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    p.add_argument(
        "--force",
        action="store_true",
        help="start over in an --out that holds an earlier run: delete the files runs write "
        "there (never others) first",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="greedy held-out evaluation of a run")
    p.add_argument("run")
    p.add_argument("--split", default="test")
    p.add_argument("--checkpoint", default="best", help="best, latest or a checkpoint name")
    p.add_argument(
        "--best-of",
        type=int,
        default=0,
        metavar="K",
        help="instead: K sampled answers a question (temperature 1), the mean and the best "
        "training reward of them (what sharpening alone could reach); writes best_of.json",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "export", help="a run's checkpoint as a standard Hugging Face model (LoRA merged)"
    )
    p.add_argument("run")
    p.add_argument("--out", required=True, help="an empty or new folder")
    p.add_argument("--checkpoint", default="best", help="best, latest or a checkpoint name")
    p.set_defaults(func=cmd_export)


def _add_score_commands(sub, bundles: list) -> None:
    """`score NAME` for each domain with a scorer, and `score video` (pixel metrics)."""
    p = sub.add_parser("score", help="score any model's answers offline")
    score = p.add_subparsers(dest="domain", required=True)
    for bundle in bundles:
        if bundle.has("score_files"):
            p = score.add_parser(bundle.name, help=f"score answers: {bundle.description}")
            bundle.hook("score_arguments")(p)
            p.set_defaults(func=cmd_score)
    p = score.add_parser("video", help="pixel metrics of predicted frames against targets")
    p.add_argument("--pred", required=True, help="npz with `frames` uint8 N x H x W x 3")
    p.add_argument("--target", required=True, help="npz with `frames` of the same shape")
    p.add_argument("--lpips-net", default="vgg", choices=["vgg", "alex"])
    p.add_argument("--out", required=True, help='JSON of {"per_frame": [...], "mean": {...}}')
    p.set_defaults(func=cmd_score_video)


def _add_bench_command(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks behind the README's claims")
    p.add_argument("which", choices=list(bench_table()))
    p.add_argument("--out", required=True, help="JSON result file")
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke version")
    p.add_argument(
        "--runs",
        help="mpc: a `bench web` runs folder (mle/, rlvr/) to plan with; policy-eval: a "
        "`bench robot` runs folder (multi-mle/, multi-rlvr/)",
    )
    p.add_argument(
        "--episodes",
        type=int,
        help="mpc: planning episodes per task (default 10); policy-eval: imagined episodes per "
        "policy",
    )
    p.set_defaults(func=cmd_bench)


def _add_plan_command(sub, planners: list[str]) -> None:
    """plan: an agent using a trained world model."""
    p = sub.add_parser("plan", help="an MPC agent that plans with a world model, step by step")
    p.add_argument("--domain", choices=planners, default="web")
    p.add_argument(
        "--world-model", required=True, help="a trained run's folder, `oracle` or `random`"
    )
    p.add_argument("--task", help="web task or game name (default add_to_cart / boil_water)")
    p.add_argument("--seed", type=int, default=0, help="the episode (site or game) seed")
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--noise", type=float, default=0.9, help="the proposal policy's noise")
    p.add_argument("--num-samples", type=int, default=20, help="N proposals a step")
    p.add_argument("--top-k", type=int, default=3, help="k candidates a step")
    p.add_argument("--checkpoint", default="best")
    p.set_defaults(func=cmd_plan)


def build_parser() -> argparse.ArgumentParser:
    from rlvr_world.domains import DOMAINS, get_domain

    parser = argparse.ArgumentParser(
        prog="rlvr-world", description="Train world models with RL from verifiable rewards."
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the traceback instead of one line (also RLVR_WORLD_DEBUG=1); "
        "accepted anywhere on the command line",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bundles = [get_domain(name) for name in DOMAINS.names()]
    _add_run_commands(sub, [b.name for b in bundles if b.quickstart_preset])
    _add_score_commands(sub, bundles)

    p = sub.add_parser("report", help="HTML report of one or more runs")
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", help="HTML file (default <first run>/report.html)")
    p.add_argument(
        "--screenshot", metavar="FILE.png", help="also a PNG of the page in headless Chromium"
    )
    p.set_defaults(func=cmd_report)

    _add_bench_command(sub)
    _add_plan_command(sub, [b.name for b in bundles if b.has("plan")])
    for bundle in bundles:  # a domain's own commands (the robot's policy-eval)
        if bundle.has("commands"):
            bundle.hook("commands")(sub, _training_function, print)

    p = sub.add_parser("config", help="print the resolved config of a preset")
    _with_preset(p)
    p.add_argument("--describe", action="store_true", help="list every field with its doc")
    p.set_defaults(func=cmd_config)
    return parser


USAGE_ERRORS = (
    ValueError,
    LookupError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    yaml.YAMLError,
)
"""Errors that say the command or its inputs are wrong (exit code 2): a bad option, config
value or override, an input file that is missing, of the wrong kind or malformed (`DataError`
and `ConfigError` are `ValueError`s), an output that is taken. Everything else is a run that
failed (exit code 1): permission denied, no space left, a damaged checkpoint
(`CheckpointError`), divergence (`DivergenceError`, a `RuntimeError`), errors of torch or
safetensors."""

DEBUG_VARIABLE = "RLVR_WORLD_DEBUG"


def main(argv: list[str] | None = None) -> int:
    """Run one command. An error ends it with one line `error: ...` on stderr (naming the
    file or field where there is one) and exit code 2 (`USAGE_ERRORS`) or 1; `--debug` (or
    RLVR_WORLD_DEBUG=1) shows the traceback instead."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    arguments = [a for a in arguments if a != "--debug"]
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bar at every checkpoint
    parser = build_parser()
    # key=value overrides may come after options (`--out X rlvr.steps=5`): collect leftovers
    args, extra = parser.parse_known_args(arguments)
    unknown = [e for e in extra if e.startswith("-") or "=" not in e]
    if unknown or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("error: interrupted", file=sys.stderr)
        code = 130
    except Exception as error:
        if debug:
            raise
        message, code = failure(error)
        print(f"error: {message}", file=sys.stderr)
    from rlvr_world.train.distributed import launched_processes

    if argv is None and launched_processes() > 1:
        _leave_worker(code)
    return code


def failure(error: BaseException) -> tuple[str, int]:
    """One line saying what went wrong (`error_message`), and the exit code: 2 for
    `USAGE_ERRORS`, 1 for a failed run."""
    from rlvr_world.core.checkpoint import CheckpointError

    failed = isinstance(error, CheckpointError) or not isinstance(error, USAGE_ERRORS)
    return error_message(error), 1 if failed else 2


def error_message(error: BaseException) -> str:
    """`error` in one line, naming the path an `OSError` carries; an error this package did not
    raise on purpose is prefixed with its type and points at RLVR_WORLD_DEBUG."""
    if isinstance(error, OSError) and error.filename is not None:
        return _os_error_message(error)
    if isinstance(error, KeyError) and len(error.args) == 1:
        key = error.args[0]
        text = key if isinstance(key, str) and " " in key else f"missing key {key!r}"
    else:
        text = str(error)
    text = " ".join(text.split()) or type(error).__name__
    lowered = text.lower()
    if (
        isinstance(error, OSError)
        and error.errno == errno.ENOSPC
        or any(
            sign in lowered for sign in ("no space left on device", "os error 28", "storagefull")
        )
    ):
        return f"no space left on device while writing ({text})"
    if "inline_container" in lowered or "file write failed" in lowered:
        return f"writing a file failed, is the disk full? ({text})"
    ours = type(error).__module__.startswith("rlvr_world")
    if not ours and not isinstance(error, (ValueError, LookupError, OSError)):
        text = f"{type(error).__name__}: {text} ({DEBUG_VARIABLE}=1 shows the traceback)"
    return text


def _os_error_message(error: OSError) -> str:
    """An `OSError` with a file name as one line that names it."""
    path = str(error.filename)
    if error.filename2 is not None:
        path = f"{path} -> {error.filename2}"
    messages = {
        errno.ENOSPC: f"no space left on device while writing {path}",
        errno.EDQUOT: f"disk quota exceeded while writing {path}",
        errno.EACCES: f"permission denied: {path}",
        errno.EPERM: f"operation not permitted: {path}",
        errno.EROFS: f"read-only file system: cannot write {path}",
        errno.EISDIR: f"{path} is a directory, expected a file",
        errno.ENOTDIR: f"{path}: a part of this path is a file, not a directory",
        errno.ENOENT: f"no such file or directory: {path}",
        errno.EEXIST: f"{path} already exists",
    }
    return messages.get(error.errno, f"{error.strerror or type(error).__name__}: {path}")


def _leave_worker(code: int) -> None:
    """End a torchrun worker process now, skipping interpreter finalization.

    Its work is done and on disk (checkpoints are written atomically, the logger is closed, the
    process group destroyed). Finalizing the interpreter behind gloo's threads has aborted a
    worker at exit ("terminate called without an active exception", SIGABRT) after a
    complete run, which torchrun reports as a failed job."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
