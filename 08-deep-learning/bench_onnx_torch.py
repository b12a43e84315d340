"""uv run python 08-deep-learning/bench_onnx_torch.py [--fp32-dir models/hair-torch-onnx-fp32] [--repeats 3] [--json PATH]

ONNX Runtime on one thread, one image per call, over every hair-type test image, for each way
to optimise the fp32 export (``export_torch.py --fp32``): file size, session creation, latency
p50/p99 (the calls interleaved across variants), test accuracy and agreement with fp32. A
table on stderr; ``--json`` also writes the figures. ``zoomcamp.hair.onnx_optimise`` follows it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, paths, script
from zoomcamp.errors import ZoomcampError

SESSIONS = 3  # session creations per variant (the median is reported: cold start's part)


def variants(fp32: bytes) -> dict[str, tuple[bytes, str | None]]:
    """name -> (model bytes, the session's optimisation level at run time; None: ORT's all)."""
    from zoomcamp.hair import onnx_optimise as opt

    int8 = opt.quantise(fp32, ("MatMul",))
    offline = opt.optimise_offline(int8, "extended")
    return {
        "int4 MatMul, block 32, offline extended (served)": (opt.optimise(fp32), None),
        "int4 MatMul, block 128, offline extended": (
            opt.optimise_offline(opt.quantise_blockwise(fp32, block_size=128), "extended"),
            None,
        ),
        "fp32": (fp32, None),
        "int8 MatMul": (int8, None),
        "int8 MatMul per channel": (opt.quantise(fp32, ("MatMul",), per_channel=True), None),
        "int8 MatMul + Conv": (opt.quantise(fp32, ("MatMul", "Conv")), None),
        "int8 MatMul, offline extended": (offline, "basic"),
        "int8 MatMul, offline extended, run all": (offline, None),
        "int8 MatMul, offline all": (opt.optimise_offline(int8, "all"), "basic"),
    }


def measure(models: dict, x: np.ndarray, repeats: int) -> dict[str, dict]:
    """Each variant's figures; the calls interleaved (image by image, every variant in turn)
    so that a change of load on the machine falls on all of them alike."""
    from zoomcamp.hair import model_torch
    from zoomcamp.hair import onnx_optimise as opt

    feed, out = model_torch.INPUT_NAME, [model_torch.OUTPUT_NAME]
    sessions, rows = {}, {}
    for name, (data, level) in models.items():
        created = []
        for _ in range(SESSIONS):
            started = time.perf_counter()
            sessions[name] = opt.session(data, level)
            created.append((time.perf_counter() - started) * 1000)
        rows[name] = {
            "mb": len(data) / 1e6,
            "run_level": level or "all",
            "session_ms": float(np.median(created)),
        }
        sessions[name].run(out, {feed: x[:1]})  # the first call allocates
    times = {name: [] for name in models}
    logits = {name: [] for name in models}
    for r in range(repeats):
        for i in range(len(x)):
            for name, session in sessions.items():
                t0 = time.perf_counter()
                y = session.run(out, {feed: x[i : i + 1]})[0]
                times[name].append(time.perf_counter() - t0)
                if r == 0:
                    logits[name].append(y)
    for name, row in rows.items():
        ms = np.array(times[name]) * 1000
        row.update(p50_ms=float(np.percentile(ms, 50)), p99_ms=float(np.percentile(ms, 99)))
        row["logits"] = np.concatenate(logits[name])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument(
        "--fp32-dir", type=Path, default=None, help="default: models/hair-torch-onnx-fp32"
    )
    parser.add_argument("--repeats", type=int, default=3, help="passes over the test images")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise ZoomcampError("--repeats must be at least 1")
    from zoomcamp.hair import model_torch
    from zoomcamp.hair import onnx_optimise as opt

    folder = args.fp32_dir or paths.model_dir(model_torch.ONNX_FP32_NAME)
    fp32 = artifacts.file(folder, model_torch.ONNX_FILE).read_bytes()
    meta = artifacts.read(folder)
    pixels, labels = model_torch.decoded_test_split(meta["preprocessing"]["resample"])
    x = model_torch.to_input(pixels)
    load = [round(v, 2) for v in os.getloadavg()]
    rows = measure(variants(fp32), x, args.repeats)
    reference = rows["fp32"]["logits"]
    for row in rows.values():
        row.update(opt.agreement(reference, row.pop("logits"), labels))
    load = (load, [round(v, 2) for v in os.getloadavg()])
    print(
        f"{len(x)} test images x {args.repeats}, one thread; load average {load[0]} -> {load[1]}",
        file=sys.stderr,
    )
    print(
        f"{'variant':40} {'MB':>6} {'session':>8} {'p50 ms':>7} {'p99 ms':>7} {'acc':>6} {'same':>6}"
        f" {'max|d|':>7}",
        file=sys.stderr,
    )
    for name, r in rows.items():
        print(
            f"{name:40} {r['mb']:6.1f} {r['session_ms']:8.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f}"
            f" {r['test_accuracy']:6.4f} {r['same_decision_share']:6.3f}"
            f" {r['max_abs_logit_diff_vs_fp32']:7.3g}",
            file=sys.stderr,
        )
    if args.json:
        figures = {"load_average": load, "repeats": args.repeats, "variants": rows}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    script.run(main)
