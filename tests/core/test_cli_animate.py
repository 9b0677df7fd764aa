"""`rnnviz export --animate`: each of a preset's panels as an MP4 beside its still images;
a frame rate that is not one is one line on stderr."""

import pytest
from cli_run import rnnviz  # tests/core is on sys.path


def test_export_animate_writes_a_video_per_panel(tmp_path):
    import imageio_ffmpeg

    from rnnviz.core.presets import load_preset

    preset = load_preset("exploding")  # sequences of 50 steps: 50 frames a panel
    args = ["--preset", "exploding", "--out", "slides", "--steps", "2", "--width", "200"]
    result = rnnviz("export", *args, "--animate", "mp4", "--fps", "25", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = tmp_path / "slides"
    for key in preset.panels:
        assert (out / f"{key}.png").is_file()  # the stills as without --animate
        frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out / f"{key}.mp4"))
        # through time: one frame a timestep; the training panel: steps 0 (a recording
        # before training), 1 and 2
        assert frames == (3 if key == "training" else 50), key
        assert seconds == frames / 25
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_export_animate_refuses_a_frame_rate_in_one_line(tmp_path, capsys, monkeypatch):
    from rnnviz.cli import run_command

    monkeypatch.chdir(tmp_path)  # in this process: the check comes before any training
    args = ["export", "--preset", "exploding", "--out", "d", "--animate", "gif", "--fps", "0"]
    with pytest.raises(SystemExit) as e:
        run_command(args)
    assert e.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("--fps must be between 1 and 60, got 0")
    assert not (tmp_path / "d").exists()


def test_export_animates_the_training_steps_of_the_history_panels(tmp_path):
    import numpy as np
    from PIL import Image, ImageSequence

    args = ["--preset", "vanishing", "--out", "slides", "--steps", "3", "--width", "200"]
    args += ["--animate", "gif", "--animate-over", "steps", "--frames", "4"]
    result = rnnviz("export", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "slides"
    # the panels that draw a history; the factors panel draws one recording: no animation
    assert sorted(p.name for p in out.glob("*.gif")) == [
        "gradient_history.gif",
        "gradients.gif",
        "training.gif",
    ]
    with Image.open(out / "training.gif") as gif:  # steps 0, 1, 2, 3: the loss curve grows
        frames = [np.asarray(f.convert("RGB"), dtype=np.int16) for f in ImageSequence.Iterator(gif)]
    assert len(frames) == 4
    assert all(np.abs(a - b).sum() > 0 for a, b in zip(frames, frames[1:], strict=False))


def test_frames_without_steps_is_one_line(tmp_path, capsys, monkeypatch):
    from rnnviz.cli import run_command

    monkeypatch.chdir(tmp_path)
    args = ["export", "--preset", "vanishing", "--out", "d", "--animate", "gif"]
    with pytest.raises(SystemExit) as e:
        run_command([*args, "--animate-over", "time", "--frames", "5"])
    assert e.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("--frames counts training steps: through time there is one a timestep")
    assert not (tmp_path / "d").exists()
