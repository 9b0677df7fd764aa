"""File → Open model / Open trace: a user's own model in every panel, without training."""

import numpy as np
import torch
from PySide6.QtWidgets import QMessageBox
from torch import nn
from windows import open_window  # tests/qt is on sys.path

from rnnviz.qt.main_window import MainWindow
from rnnviz.qt.panels import GradientHistoryPanel, GradientNormsPanel

TIMEOUT = 60_000  # ms: the child process imports torch (2-20 s on a loaded machine)


def test_open_model_and_trace_show_in_every_panel_without_training(
    qtbot, store, tmp_path, monkeypatch
):
    torch.manual_seed(0)
    torch.save(nn.LSTM(3, 5, num_layers=2).state_dict(), tmp_path / "mine.pt")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((2, 12, 3)))
    np.save(tmp_path / "wide.npy", np.zeros((12, 4)))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _w, _t, text: warnings.append(text))
    # No training worker: its torch import would only compete with the model's recording.
    monkeypatch.setattr(MainWindow, "_start_first_run", lambda self: None)
    w = open_window(qtbot, store, wait_snapshot=False)
    opener = w.open_files

    failures = []
    opener.failed.connect(failures.append)
    with qtbot.waitSignal(opener.opened, timeout=TIMEOUT):
        opener.open_model(str(tmp_path / "mine.pt"), str(tmp_path / "wide.npy"))
        opener.open_model(str(tmp_path / "mine.pt"), str(tmp_path / "x.npy"))  # newer wins
    assert failures == []  # the replaced recording says nothing
    trace = w.snapshot.trace
    assert trace.meta["model"] == "LSTM, 2 layers, input 3, hidden 5"
    w.docks["gradient_history"].show()  # a laboratory panel, built as its dock shows
    assert all(p.snapshot is w.snapshot for p in w.panels)  # every panel, lab ones too
    for panel in w.panels:
        panel.refresh(force=True)  # each draws it (a Qt-loop exception would fail the test)
    assert not w.runner.is_alive()
    assert not w.actions.train.isEnabled() and not w.transport.step_button.isEnabled()
    assert w.cursor.T == 12
    w.actions.last.trigger()  # the time cursor works
    assert w.cursor.t == 11 and "t = 11" in w.transport.readout.text()
    gradients = next(p for p in w.panels if isinstance(p, GradientNormsPanel))
    gradients.refresh(force=True)
    assert "L = ½‖h_n‖²" in gradients.grad_plot.titleLabel.text
    history = next(p for p in w.panels if isinstance(p, GradientHistoryPanel))
    assert "1 recording, steps 0–0, L = ½‖h_n‖²" in history.plot.titleLabel.text

    shown = w.snapshot
    with qtbot.waitSignal(opener.failed, timeout=TIMEOUT) as failed:
        opener.open_model(str(tmp_path / "mine.pt"), str(tmp_path / "wide.npy"))
    assert "wide.npy has 4 values per timestep" in failed.args[0]
    assert not opener.open_trace(tmp_path / "junk.npz")
    assert "junk.npz is not a trace rnnviz can show" in warnings[-1] and len(warnings) == 2
    assert w.snapshot is shown  # nothing changed

    opener.open_model(str(tmp_path / "mine.pt"), str(tmp_path / "x.npy"))
    process = opener._process
    w.close()  # while it records: the recording ends with the window
    assert opener._process is None and process.state() == process.ProcessState.NotRunning


def test_a_token_model_opens_from_the_dialog_with_its_text_and_vocabulary(
    qtbot, store, tmp_path, monkeypatch
):
    import json

    from rnnviz.core.foreign_tokens import TOKENIZATIONS
    from rnnviz.qt import open_files
    from rnnviz.qt.open_files import OpenModelDialog
    from rnnviz.qt.panels import GateActivationsPanel

    assert open_files.TOKENIZATIONS == TOKENIZATIONS  # the window's copy (it has no torch)
    torch.manual_seed(0)
    net = nn.ModuleDict({"embed": nn.Embedding(5, 3), "gru": nn.GRU(3, 4, batch_first=True)})
    torch.save(net.state_dict(), tmp_path / "words.pt")
    (tmp_path / "vocab.json").write_text(json.dumps(["<unk>", "the", "cat", "sat", "mat"]))
    (tmp_path / "s.txt").write_text("the cat sat on the mat\n")  # on: <unk>
    monkeypatch.setattr(MainWindow, "_start_first_run", lambda self: None)
    w = open_window(qtbot, store, wait_snapshot=False)
    dialog = OpenModelDialog(w, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.model.setText(str(tmp_path / "words.pt"))
    dialog.data.setText(str(tmp_path / "s.txt"))
    dialog.vocab.setText(str(tmp_path / "vocab.json"))
    with qtbot.waitSignal(w.open_files.opened, timeout=TIMEOUT):
        w.open_files.open_model(**dialog.values())
    trace = w.snapshot.trace
    assert trace.meta["model"] == "GRU, 1 layer, input 3, hidden 4, embedding of 5 tokens"
    assert list(trace.tokens[0]) == ["the", "cat", "sat", "<unk>", "the", "mat"]
    gates = next(p for p in w.panels if isinstance(p, GateActivationsPanel))
    gates.refresh(force=True)
    axis = gates.plots[gates.names[-1]].getAxis("bottom")  # the words name the time axis
    labels = [text for level in axis._tickLevels for _, text in level]
    assert "0\nthe" in labels and "3\n<unk>" in labels
