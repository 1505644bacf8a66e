"""The report's sections for video world models: the frame metrics of `eval.json` (MSE, MAE,
PSNR, SSIM, LPIPS, repetition) against the first run, per-task LPIPS, the frame tokenizer's
reconstruction figures (from `tokenizer/eval.json` in the run or along its `init` chain),
tokenizer/MLE/RLVR curves, frame strips with an animated GIF per sample from `predictions.npz`
(matched by example id across runs), and the results of `rlvr-world policy-eval` kept in the
runs. Frames are drawn with numpy and Pillow only (no torch).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rlvr_world.core.html import (
    best_value,
    change_chip,
    colors_by_name,
    escape,
    finite_number,
    format_percent,
    format_plain,
    format_scaled,
    metric_series,
    plot_grid,
    png_image,
    relative_change,
    table_cell,
)
from rlvr_world.core.subsets import spread
from rlvr_world.domains.reporting import (
    DomainReport,
    RunView,
    logged_rlvr,
    lookup,
    read_config,
    read_jsonl,
    read_run,
    resolve_init,
    run_names,
)

__all__ = ["FRAMES_CSS", "report_sections"]

FRAME_PIXELS = 128
"""Frames are upscaled (nearest neighbour) to at least this height so 64 px frames are visible."""
PSNR_MAX = 100.0
"""PSNR of identical frames, as capped in `rlvr_world.video.metrics` (not imported: torch)."""

_FRAME_GAP = 2  # white pixels between frames in strips and GIF panels
# (key in eval.json "metrics", header, short label, scale, digits, lower is better)
_FRAME_COLUMNS = (
    ("mse", "MSE ×100", "MSE", 100.0, 2, True),
    ("mae", "MAE", "MAE", 1.0, 4, True),
    ("psnr", "PSNR (dB)", "PSNR", 1.0, 2, False),
    ("ssim", "SSIM ×100", "SSIM", 100.0, 2, False),
    ("lpips", "LPIPS ×100", "LPIPS", 100.0, 2, True),
)
_REPETITION_COLUMN = ("repetition", "repetition %", "repetition", 100.0, 2, True)


FRAMES_CSS = """
.frames-row { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
table.strip th { white-space: nowrap; vertical-align: middle; }
img.frames { image-rendering: pixelated; max-width: none; }
figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
"""
"""Style of the frame strips and animations."""


def report_sections(
    runs: Sequence[RunView], max_samples: int, max_frame_samples: int
) -> DomainReport:
    """The frame metrics, tokenizer figures, curves, up to `max_frame_samples` frame strips
    and the policy evaluations."""
    runs = [_with_frames(run) for run in runs]
    tokenizer, folders = _tokenizer_html(runs)
    sections = [
        _video_comparison_html(runs)
        + "\n"
        + _lpips_by_step_html(runs)
        + "\n"
        + _by_task_html(runs)
        + "\n"
        + tokenizer,
        _video_curves_html(runs, folders),
        _frames_html(runs, max_frame_samples),
    ]
    policy_eval = _policy_eval_html(runs)
    return DomainReport(runs, sections + ([policy_eval] if policy_eval else []), FRAMES_CSS)


def _with_frames(run: RunView) -> RunView:
    """The run with its `train_result.json`, its phase, and a note if it has no frames."""
    notes = list(run.notes)
    if not (run.path / "predictions.npz").is_file():
        notes.append("no predictions.npz: no frames to show.")
    result = None
    try:
        loaded = json.loads((run.path / "train_result.json").read_text(encoding="utf-8"))
        result = loaded if isinstance(loaded, dict) else None
    except (OSError, json.JSONDecodeError):
        pass  # optional: the phase is then read from metrics.jsonl and config.yaml
    run = replace(run, notes=notes, result=result)
    return replace(run, phase="RLVR" if logged_rlvr(run) else _phase(run))


def _phase(run: RunView) -> str:
    # A video MLE run usually has an init too (the tokenizer run it takes frames from).
    phases = {str(row.get("phase", "")) for row in run.metrics}
    if "mle" in phases:
        return "MLE"
    logged = str((run.result or {}).get("phase", "")).lower()
    if logged in ("mle", "rlvr", "tokenizer"):
        return "tokenizer" if logged == "tokenizer" else logged.upper()
    if "tokenizer" in phases:
        return "tokenizer"
    init = resolve_init(run.path, run.config.get("init"))
    return "RLVR" if init is not None and (init / "checkpoints").is_dir() else "MLE"


def _mode(run: RunView) -> str:
    return str(lookup(run.config, "video", "mode") or "single")


def _video_comparison_html(runs: Sequence[RunView]) -> str:
    multi = any(_mode(run) == "multi" for run in runs)
    columns = [*_FRAME_COLUMNS, *([_REPETITION_COLUMN] if multi else [])]

    def value(run: RunView, key: str) -> Any:
        if key == "repetition":  # a single-step rollout cannot repeat: no value to compare
            return (run.eval or {}).get(key) if _mode(run) == "multi" else None
        return lookup(run.eval, "metrics", key)

    values = [[value(run, column[0]) for column in columns] for run in runs]
    best = [best_value([row[j] for row in values], column[5]) for j, column in enumerate(columns)]
    head = "<tr><th>run</th><th>phase</th><th>mode</th>"
    head += "".join(f"<th>{escape(column[1])}</th>" for column in columns)
    head += f"<th>change vs {escape(runs[0].name)}</th><th>examples</th></tr>"
    rows = []
    for i, (run, row) in enumerate(zip(runs, values)):
        cells = [
            table_cell(
                escape(format_scaled(row[j], scale, digits)),
                best[j] is not None and finite_number(row[j]) == best[j],
            )
            for j, (_, _, _, scale, digits, _) in enumerate(columns)
        ]
        if i == 0:
            changes = "baseline"
        else:
            chips = [
                change_chip(label, relative_change(row[j], values[0][j]), lower)
                for j, (_, _, label, _, _, lower) in enumerate(columns)
            ]
            changes = " · ".join(chip for chip in chips if chip) or "–"
        examples = escape(run.eval.get("examples", "–")) if run.eval else "not evaluated"
        rows.append(
            f"<tr><td><b>{escape(run.name)}</b></td><td>{escape(run.phase)}</td>"
            f"<td>{escape(_mode(run))}</td>"
            f"{''.join(cells)}<td>{changes}</td><td>{examples}</td></tr>"
        )
    caption = (
        "Frame metrics of the predicted frames against the true ones on the held-out split, "
        "following the paper's convention: MSE, SSIM and LPIPS ×100, PSNR in dB, MAE on pixels "
        "in [0, 1]"
        + (", repetition = % of multi-step rollouts whose last two frames repeat" if multi else "")
        + ". Lower is better except PSNR and SSIM; best per column in bold; changes are relative "
        f"to the first run ({runs[0].name})."
    )
    return (
        f"<h2>Held-out comparison</h2>\n<p>{escape(caption)}</p>\n"
        f'<table class="numbers">{head}{"".join(rows)}</table>'
    )


def _lpips_by_step_html(runs: Sequence[RunView]) -> str:
    """LPIPS of each predicted frame of the rollout, averaged over the held-out windows
    (`eval.json`'s `lpips_by_step`), one line per run: where along the rollout the runs part."""
    curves = [
        (run, values)
        for run in runs
        if isinstance(values := (run.eval or {}).get("lpips_by_step"), list) and len(values) > 1
    ]
    if not curves:
        return ""
    colors = colors_by_name([run.name for run in runs])
    figure, (axis,) = plot_grid(1, 1)
    for run, values in curves:
        steps = range(1, len(values) + 1)
        axis.plot(
            steps,
            [100 * float(v) for v in values],
            marker="o",
            label=run.name,
            color=colors[run.name],
        )
    axis.set_xlabel("predicted frame of the rollout")
    axis.set_ylabel("LPIPS ×100 (held-out mean)")
    axis.legend(fontsize="small")
    caption = (
        "LPIPS of each predicted frame along the rollout, averaged over the held-out windows "
        "(lower is better): errors compound as the model feeds on its own frames."
    )
    return f"<h3>LPIPS along the rollout</h3>\n<p>{escape(caption)}</p>\n{png_image(figure)}"


def _by_task_html(runs: Sequence[RunView]) -> str:
    tables = [
        (run, run.eval.get("by_task"))
        for run in runs
        if run.eval and isinstance(run.eval.get("by_task"), dict)
    ]
    if not tables:
        return '<p class="note">No per-task figures (no by_task in any eval.json).</p>'
    tasks = list(dict.fromkeys(str(task) for _, by_task in tables for task in by_task))
    base = runs[0].eval.get("by_task") if runs[0].eval else None
    base = base if isinstance(base, dict) else {}
    head = "<tr><th>task</th>" + "".join(f"<th>{escape(run.name)}</th>" for run in runs) + "</tr>"
    rows = []
    for task in tasks:
        values = [lookup(run.eval, "by_task", task) if run.eval else None for run in runs]
        best = best_value(values, lower_is_better=True)
        cells = []
        for i, value in enumerate(values):
            change = None if i == 0 else relative_change(value, base.get(task))
            extra = f" <small>{change_chip('', change, True)}</small>" if change is not None else ""
            bold = best is not None and finite_number(value) == best
            cells.append(table_cell(escape(format_scaled(value, 100.0, 2)), bold, extra))
        rows.append(f"<tr><td>{escape(task)}</td>{''.join(cells)}</tr>")
    return (
        "<h3>LPIPS ×100 per task</h3>\n<p>Lower is better; best per task in bold, change "
        f"relative to {escape(runs[0].name)}.</p>\n"
        f'<table class="numbers">{head}{"".join(rows)}</table>'
    )


def _tokenizer_figures(run: RunView) -> tuple[Path, dict] | None:
    """(the `eval.json` path, its figures) of the run's frame tokenizer: the run's own, the one
    `video.tokenizer_path` names, or the first along its `init` chain."""
    candidates = [run.path / "tokenizer" / "eval.json"]
    tokenizer_path = lookup(run.config, "video", "tokenizer_path")
    if tokenizer_path:
        candidates.append(Path(str(tokenizer_path)) / "eval.json")
    folder, config, seen = run.path, run.config, {run.path.resolve()}
    while (folder := resolve_init(folder, config.get("init"))) is not None:
        if folder.resolve() in seen:  # an init cycle: stop rather than loop
            break
        seen.add(folder.resolve())
        candidates.append(folder / "tokenizer" / "eval.json")
        config = read_config(folder)
    for path in candidates:
        try:
            figures = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(figures, dict):
            return path, figures
    return None


def _tokenizer_html(runs: Sequence[RunView]) -> tuple[str, list[Path]]:
    """The tokenizer table, and the run folders whose tokenizer it shows (for the curves)."""
    sources: dict[Path, tuple[Path, dict, list[str]]] = {}
    without = []
    for run in runs:
        found = _tokenizer_figures(run)
        if found is None:
            without.append(run.name)
            continue
        path, figures = found
        sources.setdefault(path.resolve(), (path, figures, []))[2].append(run.name)
    parts = ["<h3>Frame tokenizer</h3>"]
    if sources:
        parts.append(
            "<p>Reconstruction of held-out frames by the frame tokenizer (encode then decode), "
            "from tokenizer/eval.json in the run or along its init chain: an upper bound for "
            "any world model on its tokens. <i>future frames</i>: the multi-step future-frame "
            "tokenizer, each frame encoded and decoded given a frame 1 to rollout_frames - 1 "
            "steps before it. "
            "SSIM and LPIPS ×100, PSNR in dB.</p>"
        )
        head = "<tr><th>tokenizer of</th><th>used by</th><th>PSNR (dB)</th><th>SSIM ×100</th>"
        head += "<th>LPIPS ×100</th><th>steps</th><th>frames</th><th>seconds</th></tr>"
        rows = []
        for path, figures, users in sources.values():
            folder = path.parent.parent if path.parent.name == "tokenizer" else path.parent
            parts_of = [(folder.name, figures)]
            if isinstance(figures.get("future"), dict):  # the multi-step future-frame tokenizer
                parts_of.append((f"{folder.name} (future frames)", figures["future"]))
            for name, values in parts_of:
                rows.append(
                    f'<tr><td title="{escape(path)}">{escape(name)}</td>'
                    f"<td>{escape(', '.join(users))}</td>"
                    f"<td>{escape(format_scaled(values.get('psnr'), 1.0, 2))}</td>"
                    f"<td>{escape(format_scaled(values.get('ssim'), 100.0, 2))}</td>"
                    f"<td>{escape(format_scaled(values.get('lpips'), 100.0, 2))}</td>"
                    f"<td>{escape(format_plain(values.get('steps')))}</td>"
                    f"<td>{escape(format_plain(values.get('frames')))}</td>"
                    f"<td>{escape(format_plain(values.get('seconds'), 1))}</td></tr>"
                )
        parts.append(f'<table class="numbers">{head}{"".join(rows)}</table>')
    if without:
        parts.append(
            f'<p class="note">No tokenizer/eval.json for {escape(", ".join(without))} '
            "(nor along its init chain): no tokenizer figures.</p>"
        )
    folders = [
        path.parent.parent for path, _, _ in sources.values() if path.parent.name == "tokenizer"
    ]
    return "\n".join(parts), folders


# Curves: (title, phase, key, scale); `term_*` panels are added for whatever RLVR logged.
_TOKENIZER_PANELS = (
    ("tokenizer loss", "tokenizer", "loss", 1.0),
    ("held-out PSNR (dB)", "tokenizer", "valid_psnr", 1.0),
    ("held-out LPIPS ×100", "tokenizer", "valid_lpips", 100.0),
)
_VIDEO_MLE_PANELS = (
    ("MLE loss", "mle", "loss", 1.0),
    ("held-out LPIPS ×100", "mle/eval", "metrics_lpips", 100.0),
    ("held-out MSE ×100", "mle/eval", "metrics_mse", 100.0),
)
_VIDEO_RLVR_PANELS = (
    ("reward mean ± std", "rlvr", "reward_mean", 1.0),
    ("held-out LPIPS ×100", "rlvr/eval", "metrics_lpips", 100.0),
    ("held-out MSE ×100", "rlvr/eval", "metrics_mse", 100.0),
    ("KL to reference", "rlvr", "kl", 1.0),
    ("clip fraction", "rlvr", "clip_fraction", 1.0),
)


def _panels_html(
    heading: str,
    panels: Sequence[tuple[str, str, str, float]],
    runs: Sequence[RunView],
    colors: dict[str, str],
    missing: str,
) -> str:
    drawn = []
    for title, phase, key, scale in panels:
        lines = []
        for run in runs:
            steps, values = metric_series(run.rows(phase), key)
            if not steps:
                continue
            band = None
            if key == "reward_mean":
                std_steps, std = metric_series(run.rows(phase), "reward_std")
                band = std if std_steps == steps else None
            lines.append((run, steps, [scale * v for v in values], band))
        if lines:
            drawn.append((title, lines))
    if not drawn:
        return f'<p class="note">{escape(missing)}</p>'
    figure, axes = plot_grid(len(drawn))
    for axis, (title, lines) in zip(axes, drawn):
        for run, steps, values, band in lines:
            color = colors[run.name]
            marker = "o" if len(steps) <= 30 else None  # lone eval points must stay visible
            axis.plot(steps, values, color=color, label=run.name, marker=marker, markersize=3)
            if band is not None:
                low = [v - s for v, s in zip(values, band)]
                high = [v + s for v, s in zip(values, band)]
                axis.fill_between(steps, low, high, color=color, alpha=0.2)
        axis.set(title=title, xlabel="step")
        axis.legend(fontsize=8)
    return f"<h3>{escape(heading)}</h3>{png_image(figure)}"


def _video_curves_html(runs: Sequence[RunView], tokenizer_folders: Sequence[Path]) -> str:
    # Tokenizer curves may live in another run (the init a run took its tokenizer from).
    shown = {run.path.resolve() for run in runs}
    extra = []
    for folder in tokenizer_folders:
        if folder.resolve() not in shown and (folder / "metrics.jsonl").is_file():
            shown.add(folder.resolve())
            extra.append(folder)
    names = run_names([*(run.path for run in runs), *extra])[len(runs) :]
    sources = [*runs, *(read_run(folder, name) for folder, name in zip(extra, names))]
    colors = colors_by_name([run.name for run in sources])
    terms = sorted(
        {
            str(key)
            for run in runs
            for row in run.rows("rlvr")
            for key in row
            if str(key).startswith("term_")
        }
    )
    rlvr_panels = [
        _VIDEO_RLVR_PANELS[0],
        *((f"reward term {key[5:]}", "rlvr", key, 1.0) for key in terms),
        *_VIDEO_RLVR_PANELS[1:],
    ]
    return "\n".join(
        [
            "<h2>Training curves</h2>",
            _panels_html(
                "Frame tokenizer",
                _TOKENIZER_PANELS,
                sources,
                colors,
                "No tokenizer training logged.",
            ),
            _panels_html("MLE", _VIDEO_MLE_PANELS, runs, colors, "No MLE training logged."),
            _panels_html("RLVR", rlvr_panels, runs, colors, "No RLVR training logged."),
        ]
    )


# Frames: numpy arrays uint8 [H, W, 3]; F predicted frames, C context frames, N examples.


@dataclass
class _Predictions:
    context: Any  # uint8 [N, C, H, W, 3]
    target: Any  # uint8 [N, F, H, W, 3]
    prediction: Any  # uint8 [N, F, H, W, 3]
    index: dict[str, int]  # example id -> row


def _load_predictions(path: Path) -> tuple[_Predictions | None, str | None]:
    """A run's `predictions.npz`, or (None, why not)."""
    import numpy as np

    file = path / "predictions.npz"
    if not file.is_file():
        return None, "no predictions.npz"
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("context", "target", "prediction", "ids")}
    except Exception as error:  # a broken or foreign file must not break the report
        return None, f"predictions.npz could not be read ({type(error).__name__})"
    context, target, prediction, ids = (
        arrays[k] for k in ("context", "target", "prediction", "ids")
    )
    frames_ok = all(
        a.dtype == np.uint8 and a.ndim == 5 and a.shape[-1] == 3
        for a in (context, target, prediction)
    )
    if not frames_ok or prediction.shape != target.shape:
        shapes = ", ".join(f"{k} {a.dtype} {list(a.shape)}" for k, a in arrays.items())
        return None, f"predictions.npz has unexpected arrays ({shapes})"
    if not (ids.ndim == 1 and len(ids) == len(context) == len(target)):
        return None, f"predictions.npz: {len(ids)} ids for {len(target)} examples"
    index: dict[str, int] = {}
    for row, example_id in enumerate(ids.tolist()):
        index.setdefault(str(example_id), row)
    return _Predictions(context, target, prediction, index), None


def _frame_errors(prediction, target) -> tuple[list[float], list[float]]:
    """Per frame MAE and PSNR (dB, capped at PSNR_MAX) of uint8 [F, H, W, 3] on [0, 1] pixels."""
    import numpy as np

    difference = prediction.astype(np.float64) / 255.0 - target.astype(np.float64) / 255.0
    mae = np.abs(difference).mean(axis=(1, 2, 3))
    mse = (difference**2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        psnr = np.minimum(10.0 * np.log10(1.0 / mse), PSNR_MAX)
    return [float(v) for v in mae], [float(v) for v in psnr]


def _upscale(frame, height: int):
    """Nearest-neighbour resize of uint8 [H, W, 3] to [height, W * height / H, 3]."""
    import numpy as np

    h, w = frame.shape[:2]
    width = max(1, round(w * height / h))
    return frame[
        (np.arange(height) * h // height)[:, None], (np.arange(width) * w // width)[None, :]
    ]


def _side_by_side(frames: Sequence[Any], height: int):
    """Frames uint8 [H, W, 3] upscaled to `height` and joined left to right with a white gap."""
    import numpy as np

    gap = np.full((height, _FRAME_GAP, 3), 255, dtype=np.uint8)
    pieces = []
    for frame in frames:
        pieces += [_upscale(frame, height), gap]
    return np.concatenate(pieces[:-1], axis=1)


def _png_frames(image, alt: str) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")  # optimize=True: -2% for 4x the time
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="frames" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _gif(images: Sequence[Any], milliseconds: int, scale: float) -> str:
    """An endlessly looping GIF of uint8 [H, W, 3] images, one palette shared by all so that
    colours do not flicker between frames, shown `scale` times larger (pixelated).

    Stored at the frames' own size: GIF compression gains nothing from repeated pixels, so an
    upscaled GIF of noisy predictions costs about 2.5x more for the same picture."""
    import numpy as np
    from PIL import Image

    stacked = Image.fromarray(np.concatenate(images, axis=0))
    palette = stacked.quantize(colors=255, dither=Image.Dither.NONE)
    frames = [
        Image.fromarray(image).quantize(palette=palette, dither=Image.Dither.NONE)
        for image in images
    ]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=milliseconds, loop=0
    )
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    height, width = images[0].shape[:2]
    size = f'width="{round(width * scale)}" height="{round(height * scale)}"'
    return f'<img class="frames" alt="animation" {size} src="data:image/gif;base64,{data}">'


def _sample_lpips(run: RunView) -> dict[str, list]:
    """Example id -> the LPIPS of each of its predicted frames (`lpips_frames` in the run's
    `samples.jsonl`, scored by the evaluation's LPIPS net); empty when the run has none."""
    path = run.path / "samples.jsonl"
    out: dict[str, list] = {}
    for row in read_jsonl(path) if path.is_file() else []:
        values = lookup(row, "scores", "lpips_frames")
        if isinstance(values, list) and all(finite_number(v) is not None for v in values):
            out[str(row.get("id"))] = values
    return out


def _frame_sample_html(
    sample_id: str,
    shown: Sequence[tuple[RunView, _Predictions]],
    colors: dict[str, str],
    lpips_frames: dict[str, dict[str, list]],
) -> str:
    reference = shown[0][1]
    row = reference.index[sample_id]
    context, truth = reference.context[row], reference.target[row]  # [C, H, W, 3], [F, H, W, 3]
    height = max(FRAME_PIXELS, truth.shape[1])
    predictions = [(run, frames.prediction[frames.index[sample_id]]) for run, frames in shown]
    label = '<th style="color:{}">{}</th>'
    strip = [
        f"<tr><th>context</th><td>{_png_frames(_side_by_side(context, height), 'context')}"
        "</td></tr>",
        f"<tr><th>ground truth</th><td>{_png_frames(_side_by_side(truth, height), 'ground truth')}"
        "</td></tr>",
        *(
            f"<tr>{label.format(colors[run.name], escape(run.name))}"
            f"<td>{_png_frames(_side_by_side(frames, height), run.name)}</td></tr>"
            for run, frames in predictions
        ),
    ]
    # The animation: ground truth | each run, side by side; one step alternates the last
    # context frame with the predicted one so that the motion shows.
    panels = [truth, *(frames for _, frames in predictions)]
    native = max(panel.shape[1] for panel in panels)
    if len(truth) == 1:
        images = [_side_by_side([context[-1]] * len(panels), native)]
        images.append(_side_by_side([panel[0] for panel in panels], native))
        milliseconds = 600
    else:
        images = [
            _side_by_side([panel[min(t, len(panel) - 1)] for panel in panels], native)
            for t in range(len(truth))
        ]
        milliseconds = 400
    order = ", ".join(["ground truth", *(run.name for run, _ in predictions)])
    animation = (
        f"<figure>{_gif(images, milliseconds, height / native)}"
        f"<figcaption>left to right: {escape(order)}"
        f"{' (alternating with the last context frame)' if len(truth) == 1 else ''}"
        "</figcaption></figure>"
    )
    # Per-frame errors, each run against its own stored ground truth for this id.
    longest = max(len(frames) for _, frames in predictions)
    head = "<tr><th></th><th>frame</th>" + "".join(f"<th>{t + 1}</th>" for t in range(longest))
    head += "<th>mean</th></tr>"
    rows, notes = [], []
    for run, frames in shown:
        target = frames.target[frames.index[sample_id]]
        if target.shape != truth.shape or not (target == truth).all():
            notes.append(f"{run.name}'s ground truth differs for this id: scored against its own.")
        mae, psnr = _frame_errors(frames.prediction[frames.index[sample_id]], target)
        lpips = lpips_frames.get(run.name, {}).get(sample_id)
        lpips = lpips if lpips is not None and len(lpips) == len(mae) else None
        rows.append(
            f'<tr><th rowspan="{2 if lpips is None else 3}" style="color:{colors[run.name]}">'
            f"{escape(run.name)}</th><th>MAE</th>"
            f"{''.join(f'<td>{v:.4f}</td>' for v in mae)}"
            f"<td>{sum(mae) / len(mae):.4f}</td></tr>"
        )
        rows.append(
            f"<tr><th>PSNR (dB)</th>{''.join(f'<td>{v:.2f}</td>' for v in psnr)}"
            f"<td>{sum(psnr) / len(psnr):.2f}</td></tr>"
        )
        if lpips is not None:
            rows.append(
                f"<tr><th>LPIPS ×100</th>{''.join(f'<td>{100 * v:.2f}</td>' for v in lpips)}"
                f"<td>{100 * sum(lpips) / len(lpips):.2f}</td></tr>"
            )
    notes_html = "".join(f'<p class="note">{escape(note)}</p>' for note in notes)
    return (
        f'<div class="sample"><h3>{escape(sample_id)} <small>({len(context)} context, '
        f"{len(truth)} predicted frame{'s' if len(truth) != 1 else ''})</small></h3>"
        f'<div class="frames-row"><table class="strip">{"".join(strip)}</table>{animation}</div>'
        f'{notes_html}<table class="numbers">{head}{"".join(rows)}</table></div>'
    )


def _frames_html(runs: Sequence[RunView], limit: int) -> str:
    parts = ["<h2>Predicted frames</h2>"]
    colors = colors_by_name([run.name for run in runs])
    shown = []
    for run in runs:
        frames, why = _load_predictions(run.path)
        if frames is None:
            parts.append(
                f'<p class="note">{escape(run.name)}: {escape(why)}, left out of the frames.</p>'
            )
        else:
            shown.append((run, frames))
    if not shown:
        parts.append(
            '<p class="note">No readable predictions.npz in any run: no frames to show.</p>'
        )
        return "\n".join(parts)
    common = [i for i in shown[0][1].index if all(i in frames.index for _, frames in shown[1:])]
    if not common:
        parts.append(
            '<p class="note">No example id is in every run\'s predictions.npz (evaluated on '
            "different splits?): no frames to compare.</p>"
        )
        return "\n".join(parts)
    chosen = spread(common, limit) if limit > 0 else []  # examples are stored task by task
    parts.append(
        f"<p>{len(chosen)} of {len(common)} held-out examples, spread over the split, matched by "
        "id across runs: the true context frames, the true future frames and each run's "
        f"prediction (upscaled to {FRAME_PIXELS} px, nearest neighbour), an animation, and "
        "per-frame MAE and PSNR against the true frame (and LPIPS, as the evaluation scored "
        "it).</p>"
    )
    lpips_frames = {run.name: _sample_lpips(run) for run, _ in shown}
    parts += [_frame_sample_html(i, shown, colors, lpips_frames) for i in chosen]
    return "\n".join(parts)


def _policy_eval_html(runs: Sequence[RunView]) -> str:
    """`rlvr-world policy-eval` results kept in the runs: true vs estimated success and the
    imagined rollouts (real | imagined GIFs)."""
    parts = []
    for run in runs:
        for path in sorted((run.path / "policy-eval").glob("*/result.json")):
            folder = path.parent
            try:
                result = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                parts.append(f'<p class="note">{escape(path)}: unreadable ({escape(error)})</p>')
                continue
            parts.append(
                f"<h3>{escape(run.name)}: {escape(result['task'])} / "
                f"{escape(result['policy'])}</h3>"
                f"<p>true success {format_percent(result.get('true'))}% (simulator), estimated "
                f"{format_percent(result.get('estimated'))}% (imagined), over "
                f"{escape(result.get('episodes'))} episodes of at most "
                f"{escape(result.get('max_steps'))} "
                f"steps; the pixel detector on the real frames: "
                f"{format_percent(result.get('true_detected'))}%. Each GIF: real | imagined.</p>"
            )
            figures = []
            for sample in result.get("samples", []):
                path = folder / str(sample.get("gif", ""))
                if not path.is_file():
                    continue
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                caption = (
                    f"real: {'success' if sample['true'] else 'failure'} in "
                    f"{sample['true_steps']} steps | imagined: "
                    f"{'success' if sample['imagined'] else 'failure'} in "
                    f"{sample['imagined_steps']} steps"
                )
                figures.append(
                    f'<figure><img class="frames" alt="rollout" '
                    f'src="data:image/gif;base64,{data}"><figcaption>{escape(caption)}'
                    "</figcaption></figure>"
                )
            parts.append('<div class="frames-row">' + "".join(figures) + "</div>")
    if not parts:
        return ""
    return "<h2>Policy evaluation in the world model</h2>" + "\n".join(parts)
