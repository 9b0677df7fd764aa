"""How often the probe batch is recorded: the session's budget of recording time between
training steps (loop.session)."""

from __future__ import annotations

from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.train import Trainer


def recordings(monkeypatch, step_s: float, record_s: float, until_s: float = 5.0) -> float:
    """Recordings per second of a running session on a fake clock where a training step takes
    `step_s` and a recording `record_s` (probe_interval 0.07 and the budget of 0.2, as the
    app's), counted from the start until `until_s`."""
    trainer = Trainer(Config(task="sine", hidden=4, seq_len=10, batch=2))
    now, count = [0.0], [0]
    step, record = trainer.train_step, trainer.record

    def slow_step():
        now[0] += step_s
        return step()

    def slow_record(**kwargs):
        now[0] += record_s
        count[0] += 1
        return record(**kwargs)

    monkeypatch.setattr(trainer, "train_step", slow_step)
    monkeypatch.setattr(trainer, "record", slow_record)
    run = session(trainer, running=True, clock=lambda: now[0], probe_interval=0.07)
    next(run)
    while now[0] < until_s:
        run.send(None)
    return count[0] / now[0]


def test_recordings_take_their_budget_between_training_steps(monkeypatch):
    """83 ms steps, 35 ms recordings, a budget of 0.2 (the app's LSTM H = 128, T = 200 on
    a fake clock): recordings take a fifth of the time, about 5.7 a second. A fixed wait of
    cost / budget after each recording gave 3.5 a second (three steps between them)."""
    share = 0.035 * recordings(monkeypatch, step_s=0.083, record_s=0.035)
    assert 0.17 <= share <= 0.21


def test_cheap_recordings_come_every_probe_interval_whatever_the_step(monkeypatch):
    """25 ms steps and 9 ms recordings (the app's melody model): a recording every 70 ms,
    about 14 a second, within the budget. Timed from the end of each, the wait for the step
    under way added up: 84 ms, 11.9 a second, and the panels fell under 10 Hz."""
    rate = recordings(monkeypatch, step_s=0.025, record_s=0.009)
    assert 13.5 <= rate <= 1 / 0.07 + 0.2  # + the first, at the session's start
