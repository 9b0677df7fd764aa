"""The compact stream that carries snapshots from the training process to the window.

Sending every snapshot whole would resend the whole training history ten times a second, so
`SnapshotEncoder` sends, for each history, only the rows the other side has not seen (a
history that was reset starts again from row 0), and a trace only when it is a new recording;
`SnapshotDecoder` rebuilds the full snapshot. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np

from rnnviz.core.protocol import Column, History, ProbeHistory, RunView, Snapshot
from rnnviz.core.trace import OPTIONAL_ARRAYS, Trace


@dataclass(frozen=True)
class _Rows:
    """The rows of one history the receiver has not seen: from row `start` of buffer `key`."""

    key: int
    start: int
    cols: dict[str, np.ndarray]


_SAME_TRACE = "same trace"


class StreamError(ValueError):
    """Payloads arrived out of step (a gap or an overlap in a history's rows): the snapshots
    rebuilt from them would be wrong, so none is."""


class SnapshotEncoder:
    """Sender side: turns each snapshot into a payload holding only what is new."""

    def __init__(self) -> None:
        self._sent: dict[str, tuple[int, int]] = {}  # slot -> (key, rows sent)
        self._traces: dict[str, Trace | None] = {}  # slot -> the trace sent last

    def encode(self, s: Snapshot) -> dict:
        out = {f.name: getattr(s, f.name) for f in fields(s)}
        out["extras"] = dict(s.extras)
        out["history"] = self._rows("history", s.history)
        out["probes"] = self._rows("probes", s.probes) if s.probes is not None else None
        out["trace"] = self._trace("trace", s.trace)
        out["runs"] = [
            (
                r.label,
                r.step,
                r.diverged,
                self._rows(f"run {i}", r.history),
                self._trace(f"run {i}", r.trace),
                None if r.probes is None else self._rows(f"run {i} probes", r.probes),
            )
            for i, r in enumerate(s.runs)
        ]
        return out

    def _rows(self, slot: str, table) -> _Rows:
        key, sent = self._sent.get(slot, (None, 0))
        n = len(table)
        start = sent if key == table.key and sent <= n else 0
        self._sent[slot] = (table.key, n)
        new = {k: np.asarray(v[start:]) for k, v in table.columns().items()}
        return _Rows(table.key, start, new)

    def _trace(self, slot: str, trace: Trace | None):
        if trace is not None and self._traces.get(slot) is trace:
            return _SAME_TRACE
        self._traces[slot] = trace
        return trace


class SnapshotDecoder:
    """Receiver side: rebuilds full snapshots from the encoder's payloads (in order)."""

    def __init__(self) -> None:
        self._tables: dict[str, tuple[int, dict[str, Column]]] = {}
        self._traces: dict[str, Trace | None] = {}

    def decode(self, payload: dict) -> Snapshot:
        p = dict(payload)
        p["extras"] = MappingProxyType(p["extras"])
        p["history"] = self._table("history", p["history"], History)
        if p["probes"] is not None:
            p["probes"] = self._table("probes", p["probes"], ProbeHistory)
        p["trace"] = self._trace("trace", p["trace"])
        p["runs"] = tuple(
            RunView(
                label,
                step,
                diverged,
                self._table(f"run {i}", rows, History),
                self._trace(f"run {i}", trace),
                None if probes is None else self._table(f"run {i} probes", probes, ProbeHistory),
            )
            for i, (label, step, diverged, rows, trace, probes) in enumerate(p["runs"])
        )
        return Snapshot(**p)

    def _table(self, slot: str, rows: _Rows, cls):
        key, cols = self._tables.get(slot, (None, {}))
        if key != rows.key or rows.start == 0:
            cols = {}
        have = len(next(iter(cols.values()))) if cols else 0
        if rows.start != have:  # rows must continue exactly where the last ones ended
            what = "missing" if rows.start > have else "sent twice"
            raise StreamError(
                f"{slot} rows from {rows.start} follow row {have}: "
                f"{abs(rows.start - have)} row(s) {what}"
            )
        if len({len(v) for v in rows.cols.values()}) > 1:
            raise StreamError(f"{slot} columns of different lengths")
        for name, values in rows.cols.items():
            if name not in cols:
                cols[name] = Column(values.dtype, values.shape[1:])
            cols[name].extend(values)
        self._tables[slot] = (rows.key, cols)
        return cls.from_columns(rows.key, {name: c.view() for name, c in cols.items()})

    def _trace(self, slot: str, trace):
        if isinstance(trace, str) and trace == _SAME_TRACE:
            return self._traces[slot]
        if trace is not None:
            trace = freeze_trace(trace)
        self._traces[slot] = trace
        return trace


def freeze_trace(trace: Trace) -> Trace:
    """Mark a trace's arrays read-only again (unpickled arrays are writable)."""
    for a in (trace.x, trace.x_raw, trace.y, trace.y_hat, trace.loss_mask, *trace.params.values()):
        a.setflags(write=False)
    for name in OPTIONAL_ARRAYS:
        if getattr(trace, name) is not None:
            getattr(trace, name).setflags(write=False)
    for lt in trace.layers:
        for a in (
            lt.h,
            lt.grad_h,
            lt.jacobian_norm,
            lt.preact,
            lt.c,
            lt.grad_c,
            lt.step_factor,
            lt.grad_items,
            *lt.gates.values(),
        ):
            if a is not None:
                a.setflags(write=False)
    return trace
