"""Helpers shared by the benchmarks: environment header, timing, tables, JSON results."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def resolve_device(name: str) -> str:
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available here")
    return name


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def environment(device: str, threads: int | None = None) -> dict:
    # The machine default unless asked otherwise: torch's own choice, set explicitly so that
    # the number printed is the one every measurement ran with.
    torch.set_num_threads(threads or torch.get_num_threads())
    env = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": device,
        "load_average_1min": load_average(),
    }
    if device == "cuda":
        env["gpu"] = torch.cuda.get_device_name()
    return env


def print_header(title: str, env: dict) -> None:
    print(f"== {title}")
    line = (
        f"torch {env['torch']} | python {env['python']} | threads {env['threads']} "
        f"(interop {env['interop_threads']}, cpus {env['cpu_count']}) | CPU: {env['cpu']} | "
        f"device: {env['device']}"
    )
    if "gpu" in env:
        line += f" ({env['gpu']})"
    print(line)
    load = env.get("load_average_1min")
    if load is not None:
        cpus = env["cpu_count"] or 1
        note = ""
        if load >= 0.5 * cpus:
            note = "  -- other processes are using the CPUs: expect noisy timings"
        if load >= cpus and env["threads"] > 1 and env["device"] == "cpu":
            note += (
                f"\n  (with {env['threads']} torch threads on a busy machine a step can run "
                "10-100x slower for a while; --threads 1 gives steadier numbers)"
            )
        print(f"load average (1 min) at start: {load:.2f}{note}")
    print(flush=True)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_call(fn: Callable[[], object], device: str) -> float:
    """Seconds one call of fn takes, the device synchronised before and after."""
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def timed(fn: Callable[[], object], min_s: float) -> float:
    """Seconds one call of fn takes on average, called again until the calls last min_s (a
    short call is timed over many, so that the clock's resolution does not count)."""
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if time.perf_counter() - start >= min_s:
            return (time.perf_counter() - start) / n


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    fmt = lambda r: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
    )
    out = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    out += [fmt(r) for r in cells[1:]]
    return "\n".join(out)


def append_json(path: str | Path | None, name: str, record: dict) -> Path:
    """Append one run's record to a JSON list file (created if missing)."""
    p = Path(path) if path else RESULTS_DIR / f"{name}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    if p.exists():
        try:
            runs = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(runs, list):
                runs = [runs]
        except (OSError, ValueError):
            runs = []
    record = {
        "benchmark": name,
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **record,
    }
    runs.append(record)
    p.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    return p
