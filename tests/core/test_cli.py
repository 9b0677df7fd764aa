"""The `rnnviz` command, run as a user runs it: a subprocess, its exit status and its output."""

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from cli_run import ENV, rnnviz  # tests/core is on sys.path

SMALL = ["--hidden", "8", "--seq-len", "12", "--batch", "4", "--device", "cpu"]


def assert_one_line_error(result: subprocess.CompletedProcess, status: int = 2) -> str:
    """Exit `status`, exactly one non-empty line on stderr and no traceback; the line."""
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


# ---------------------------------------------------------------------------- bad input


@pytest.fixture
def text_files(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "one.txt").write_bytes(b"a")
    (tmp_path / "folder").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--cell", "transformer"], "invalid choice"),
        (["--task", "parity"], "invalid choice"),
        (["--hidden", "0"], "hidden size must be a whole number from 1 to 512, got 0"),
        (["--hidden", "many"], "invalid int value"),
        (["--lr", "-0.1"], "learning rate must be a positive number"),
        (["--lr=nan"], "learning rate must be a positive number"),
        (["--weight-decay", "-1"], "weight decay must be 0 or more, got -1.0"),
        (["--clip-threshold", "0"], "clip threshold"),
        (["--text", "missing.txt"], "text file not found"),
        (["--text", "latin1.txt"], "not UTF-8"),
        (["--text", "empty.txt"], "text file is empty"),
        (["--text", "folder"], "text file folder is a directory"),
        (["--text", "one.txt"], "has only 1 distinct character ('a'); a language model needs"),
        (["--text", "empty.txt", "--task", "sine"], "only used by the charlm task"),
        (["--save", "no/such/dir/ck.pt"], "no directory"),
        (["--save", "folder"], "cannot write the checkpoint folder: it is a directory"),
        (["--threads", "0"], "--threads must be 1 or more, got 0"),
        (["--bidirectional"], "the sine task predicts what comes next, and a reverse direction"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_status_2(text_files, args, says):
    line = assert_one_line_error(rnnviz("train", "--steps", "1", *SMALL, *args, cwd=text_files))
    assert line.startswith("rnnviz: error: ")
    assert says in line


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process cannot create files in (root ignores permission bits: sysfs)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
        yield folder
        folder.chmod(0o700)
        return
    try:
        open("/sys/rnnviz-check", "wb").close()
    except OSError:
        yield "/sys"
        return
    os.remove("/sys/rnnviz-check")
    pytest.skip("no folder here refuses root")


@pytest.mark.skipif(os.name != "posix", reason="needs a folder that refuses writing")
@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["train", "--save", "{d}/ck.pt", *SMALL], "cannot write the checkpoint {d}/ck.pt"),
        (["trace", "--out", "{d}/t.npz", *SMALL], "cannot write the trace {d}/t.npz"),
        (["export", "--preset", "vanishing", "--out", "{d}/slides"], "cannot write the images"),
    ],
)
def test_an_unwritable_output_fails_before_any_training(tmp_path, unwritable, command, says):
    """Issue 8: `train --save` trained all its steps (96 s) before failing with a traceback."""
    args = [a.format(d=unwritable) for a in command] + ["--steps", "100000000"]
    line = assert_one_line_error(rnnviz(*args, cwd=tmp_path))
    assert says.format(d=unwritable) in line


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_checkpoint_that_cannot_be_written_is_one_line(tmp_path):
    """torch.save raises RuntimeError, not OSError, when the disk is full."""
    result = rnnviz("train", "--steps", "2", *SMALL, "--save", "/dev/full", cwd=tmp_path)
    assert "cannot write /dev/full: No space left on device" in assert_one_line_error(result)


@pytest.mark.skipif(os.name != "posix", reason="SIGPIPE is POSIX's")
def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """`rnnviz presets | head -n 1` ended in a BrokenPipeError traceback."""
    with subprocess.Popen(
        [sys.executable, "-m", "rnnviz", "presets"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as p:
        p.stdout.close()  # the reader has gone before the first line
        err = p.stderr.read().decode()
    assert err == "" and p.returncode == 141


@pytest.mark.parametrize(("args", "threads"), [(["--threads", "3"], 3), ([], 1)])
def test_training_uses_the_threads_asked_for(tmp_path, args, threads):
    """The CLI set no thread count (7 steps/s on a busy 2-core machine against 102 with 1)."""
    result = rnnviz("train", "--steps", "1", *SMALL, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"on cpu ({threads} thread{'s' if threads > 1 else ''})" in result.stdout


def test_the_default_thread_count_leaves_a_core_as_the_app_does(tmp_path):
    from rnnviz.core.threads import usable_cores

    env = {k: v for k, v in ENV.items() if k != "OMP_NUM_THREADS"}
    result = rnnviz("train", "--steps", "1", *SMALL, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    threads = max(1, usable_cores() - 1)
    assert f"on cpu ({threads} thread{'s' if threads > 1 else ''})" in result.stdout


def test_trace_without_out_is_one_line(tmp_path):
    line = assert_one_line_error(rnnviz("trace", *SMALL, cwd=tmp_path))
    assert "--out" in line and "rnnviz trace --help" in line


def test_unknown_command_is_one_line(tmp_path):
    assert "invalid choice" in assert_one_line_error(rnnviz("tarin", cwd=tmp_path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line(tmp_path):
    result = rnnviz("trace", "--out", "t.npz", *SMALL, "--device", "cuda", cwd=tmp_path)
    assert "device 'cuda' is not available" in assert_one_line_error(result)
    assert not (tmp_path / "t.npz").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_app_without_a_display_is_one_line(tmp_path):
    env = {k: v for k, v in ENV.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    assert "no display" in assert_one_line_error(rnnviz(cwd=tmp_path, env=env))


def test_help_does_not_import_torch():
    code = "import sys, rnnviz.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------------------- train


def test_train_shows_progress_and_saves_a_checkpoint(tmp_path):
    result = rnnviz("train", "--steps", "20", *SMALL, "--save", "ck.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith("step ")]
    # Not a terminal: one line per tenth of the run, the last at step 20.
    assert len(progress) == 10 and progress[-1].startswith("step 20/20")
    for word in ("loss", "grad norm", "clipped", "steps/s", "left"):
        assert word in progress[0]
    assert any(line.startswith("trained 20 steps") for line in lines)
    checkpoint = torch.load(tmp_path / "ck.pt")
    assert checkpoint["step"] == 20 and checkpoint["config"]["hidden"] == 8
    assert "head.weight" in checkpoint["model"]


@pytest.mark.parametrize(
    ("args", "said", "rate", "decay"),
    [
        (["--task", "music"], "lr 0.005 weight decay 0.2,", 0.005, 0.2),
        (["--task", "music", "--lr", "0.01", "--weight-decay", "0"], "lr 0.01,", 0.01, 0.0),
        ([], "lr 0.01,", 0.01, 0.0),
    ],
)
def test_a_task_trains_at_its_own_rate_and_decay_unless_told(tmp_path, args, said, rate, decay):
    result = rnnviz("train", "--steps", "1", *SMALL, *args, "--save", "ck.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"adam {said}" in result.stdout.splitlines()[0]
    saved = torch.load(tmp_path / "ck.pt")["config"]  # what it trained at
    assert (saved["lr"], saved["weight_decay"]) == (rate, decay)


def test_help_names_the_tasks_own_defaults(tmp_path):
    shown = " ".join(rnnviz("train", "--help", cwd=tmp_path).stdout.split())
    assert "--lr X learning rate (default: the task's, 0.01; music 0.005)" in shown
    assert "decoupled decay; default: the task's, 0; music 0.2)" in shown


def test_diverging_training_exits_1_with_a_message(tmp_path):
    args = ["--steps", "30", "--optimizer", "sgd", "--lr", "1e8", "--save", "ck.pt"]
    line = assert_one_line_error(rnnviz("train", *SMALL, *args, cwd=tmp_path), status=1)
    assert "diverged" in line and "learning rate" in line
    assert not (tmp_path / "ck.pt").exists()


@pytest.mark.skipif(os.name != "posix", reason="SIGINT is POSIX's Ctrl-C")
def test_ctrl_c_stops_cleanly_with_status_130(tmp_path):
    cmd = [sys.executable, "-m", "rnnviz", "train", *SMALL, "--steps", "100000000"]
    with subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as on a terminal: a suite started in the background of a script without job
        # control inherits SIGINT ignored, and a process that inherits it ignored keeps it so
        # (as it should: nohup). The suite ran 300 s into its timeout that way.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as p:
        assert p.stdout.readline().startswith("lstm")  # the header: the run has started
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    result = subprocess.CompletedProcess(cmd, p.returncode, out, err)
    assert "interrupted" in assert_one_line_error(result, status=130)


# ---------------------------------------------------------------------------- trace


def load(path) -> dict[str, np.ndarray]:
    with np.load(path) as z:  # plain numpy: no pickle, no rnnviz
        return {k: z[k] for k in z.files}


def test_trace_writes_the_documented_npz(tmp_path):
    args = ["--cell", "lstm", "--layers", "2", "--bidirectional", "--probe-batch", "3"]
    args += ["--task", "adding"]
    result = rnnviz("trace", "--out", "t.npz", "--steps", "2", *SMALL, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "t.npz" in result.stdout and "loss" in result.stdout
    d = load(tmp_path / "t.npz")
    assert f"{len(d)} arrays" in result.stdout
    meta = json.loads(str(d["meta"]))
    assert meta["cell"] == "lstm" and meta["hidden"] == 8 and meta["layers"] == 2
    assert meta["bidirectional"] is True and meta["task"] == "adding" and meta["seed"] == 0
    for key in ("nonlinearity", "loss_definition", "version"):
        assert key in meta
    B, T, H = 3, 12, 8
    assert d["x"].shape == (B, T, 2) and d["y"].shape == (B, T, 1)
    assert d["y_hat"].shape == (B, T, 1) and d["loss_mask"].shape == (B, T)
    assert d["loss"].shape == ()
    for k in ("l0", "l0_reverse", "l1", "l1_reverse"):
        for name in ("h", "c", "grad_h", "grad_c", "gate_i", "gate_f", "gate_g", "gate_o"):
            assert d[f"{name}_{k}"].shape == (B, T, H), f"{name}_{k}"
        assert d[f"jacobian_norm_{k}"].shape == (B, T)
        assert d[f"param.weight_hh_{k}"].shape == (4 * H, H)
    assert d["param.head.weight"].shape == (1, 2 * H) and d["param.head.bias"].shape == (1,)


def log_softmax(a: np.ndarray) -> np.ndarray:
    a = a - a.max(axis=-1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=-1, keepdims=True))


def numpy_loss(d: dict[str, np.ndarray], kind: str) -> float:
    """The loss as tasks.py's docstring defines it, from the NPZ arrays with numpy alone."""
    y_hat, y, m = d["y_hat"].astype(np.float64), d["y"], d["loss_mask"].astype(np.float64)
    if kind == "regression":
        per_step = ((y_hat - y) ** 2).mean(axis=-1)  # (B, T)
    else:
        per_step = -np.take_along_axis(log_softmax(y_hat), y[..., None], axis=-1)[..., 0]
    return float((per_step * m).sum() / m.sum())


@pytest.mark.parametrize(
    ("task", "kind"), [("adding", "regression"), ("sine", "regression"), ("copy", "classification")]
)
def test_trace_loss_recomputes_from_the_arrays(tmp_path, task, kind):
    result = rnnviz("trace", "--out", "t.npz", "--task", task, "--steps", "3", *SMALL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    d = load(tmp_path / "t.npz")
    assert json.loads(str(d["meta"]))["loss_definition"].startswith("mean over (b,t) with mask=1")
    if task != "sine":  # these two score only some steps: the mask matters
        assert 0 < d["loss_mask"].sum() < d["loss_mask"].size
    assert float(d["loss"]) == pytest.approx(numpy_loss(d, kind), rel=1e-5)


def test_same_seed_same_trace(tmp_path):
    for out in ("a.npz", "b.npz"):
        args = ["--out", out, "--seed", "3", "--cell", "gru", "--steps", "5"]
        assert rnnviz("trace", *args, *SMALL, cwd=tmp_path).returncode == 0
    a, b = load(tmp_path / "a.npz"), load(tmp_path / "b.npz")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ---------------------------------------------------------------------------- presets, export


def test_presets_lists_every_preset_with_its_explanation(tmp_path):
    from rnnviz.core.presets import list_presets

    result = rnnviz("presets", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for p in list_presets():
        assert f"{p.key} " in result.stdout and p.title in result.stdout
        assert " ".join(result.stdout.split()).count(p.explanation[:60]) == 1


@pytest.mark.parametrize("key", ["side_by_side", "vanishing"])
def test_export_writes_the_presets_panels_and_explanation(tmp_path, key):
    from PySide6.QtGui import QImage

    from rnnviz.core.presets import load_preset

    preset = load_preset(key)
    result = rnnviz(
        "export",
        "--preset",
        key,
        "--out",
        "slides",
        "--steps",
        "20",
        "--width",
        "800",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "step 20/" in result.stdout  # progress while it trains
    out = tmp_path / "slides"
    for panel in preset.panels:
        image = QImage(str(out / f"{panel}.png"))
        assert (image.width(), image.height()) == (800, 450), panel  # 16:9 by default
        w, h = image.width(), image.height()
        colours = {image.pixel(x * w // 30, y * h // 30) for x in range(30) for y in range(30)}
        assert len(colours) > 5, f"{panel}.png looks blank"
        assert ET.parse(out / f"{panel}.svg").getroot().tag.endswith("svg")
    text = (out / "explanation.txt").read_text("utf-8")
    assert preset.title in text and "After 20 training steps:" in text
    assert " ".join(text.split()).count(preset.explanation[:60]) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{k}.{f}" for k in preset.panels for f in ("png", "svg")] + ["explanation.txt"]
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--preset", "nonsense", "--out", "d"], "unknown preset 'nonsense'"),
        (["--preset", "vanishing", "--out", "afile"], "it is a file"),
        (["--preset", "vanishing", "--out", "no/such/d"], "no directory"),
        (["--preset", "vanishing", "--out", "d", "--steps", "-3"], "--steps must be 0 or more"),
        (["--preset", "vanishing", "--out", "d", "--width", "50"], "--width must be between 200"),
        (["--preset", "vanishing", "--out", "d", "--aspect", "5:4"], "--aspect must be one of"),
        (["--preset", "vanishing"], "--out"),
    ],
)
def test_export_bad_input_is_one_line(tmp_path, args, says):
    (tmp_path / "afile").write_text("x")
    assert says in assert_one_line_error(rnnviz("export", *args, cwd=tmp_path))


@pytest.mark.parametrize(("user", "expected"), [(None, "1"), ("3", "3")])
def test_the_command_line_runs_numpy_on_one_blas_thread_unless_told(user, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user is not None:
        env["OPENBLAS_NUM_THREADS"] = user
    code = "import os, rnnviz.cli, numpy; print(os.environ['OPENBLAS_NUM_THREADS'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == expected
