"""The probe text of the character language model, each character's background coloured by one
hidden unit's activation, and a search for units that track a feature of the text.

After Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks":
h_t[k] after reading character t, on a diverging colour map from -1 (blue) to +1 (red). Some
units switch on inside quotes, count the position in a line or follow bracket depth; the
search ranks units by the Pearson correlation ρ_k of h_t[k] with such a feature signal
(rnnviz.core.units). Below, the latest text sampled from the model, so that the words and
line breaks appearing over training are seen.

The text is one HTML document built once per snapshot, unit and layer; the time cursor only
moves an outline drawn over the viewport, so moving t through 4 × 1000 characters is cheap.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter, QPen, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.core.units import FEATURES, LABEL_CHARS, decode_labels, feature_signals, find_units
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.text.note_stack import NoteStack
from rnnviz.qt.panels.text.token_grid import swatches

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

MAX_CHARS = 4000  # characters in the document; longer sequences show a block around t
TOP_UNITS = 10
NAN_FILL = "#C8C8C8"
NEEDS_CHARLM = (
    "This panel needs the character-language-model task; choose it in Settings or the "
    "Character language model preset."
)
HINT = "Hover a character to read its activation."
# How characters show: a newline as ↵ before the line break, a tab as ⇥.
SHOWN = {"\n": "↵", "\t": "⇥", "\r": "␍"}


def fixed_font() -> QFont:
    """The system's fixed-width family, at the size the application font has (so presentation
    mode enlarges it with everything else)."""
    font = QFont()
    font.setFamilies([QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()])
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    return font


def _qlen(s: str) -> int:
    """Length of `s` in a QTextDocument (UTF-16 code units)."""
    return len(s.encode("utf-16-le")) // 2


class ActivationText(QTextBrowser):
    """Text with one coloured span per character, an outline around the cursor character,
    and `hovered(index)` for the character under the mouse."""

    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setCursorWidth(0)  # the outline marks t; a caret would be a second mark
        self.setFont(fixed_font())
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.viewport().setMouseTracking(True)
        self.positions = np.zeros(0, dtype=np.int64)  # character index -> document position
        self.marked = -1  # the outlined character, or -1

    def set_characters(
        self, chars: list[str], fills: list[str], inks: list[str], breaks: dict[int, str]
    ) -> None:
        """One span per character (a string: a vocabulary label may be longer than one),
        coloured fill on ink; `breaks` puts a grey heading line before a character index."""
        parts, positions, pos = ['<div style="white-space: pre-wrap; font-size: large">'], [], 0
        for j, (ch, fill, ink) in enumerate(zip(chars, fills, inks, strict=True)):
            if j in breaks:
                if j:
                    parts.append("<br>")
                    pos += 1
                note = breaks[j]
                parts.append(f'<span style="color:#808080">{html.escape(note)}</span><br>')
                pos += _qlen(note) + 1
            shown = SHOWN.get(ch, ch)
            positions.append(pos)
            parts.append(
                f'<span style="background-color:{fill};color:{ink}">{html.escape(shown)}</span>'
            )
            pos += _qlen(shown)
            if ch == "\n":
                parts.append("<br>")
                pos += 1
        parts.append("</div>")
        scroll = self.verticalScrollBar().value()  # a new snapshot keeps the reader's place
        self.setHtml("".join(parts))
        self.verticalScrollBar().setValue(scroll)
        self.positions = np.array(positions, dtype=np.int64)
        self.marked = -1

    def char_rect(self, j: int) -> QRect:
        """The box of character j in viewport coordinates."""
        c = QTextCursor(self.document())
        c.setPosition(int(self.positions[j]))
        left = self.cursorRect(c)
        c.setPosition(int(self.positions[j]) + 1)
        right = self.cursorRect(c)
        if right.top() != left.top():  # the character ends its line
            right = left.translated(self.fontMetrics().horizontalAdvance("m"), 0)
        return QRect(left.left(), left.top(), right.left() - left.left(), left.height())

    def mark(self, j: int) -> None:
        """Outline character j (-1: none) and scroll it into view; cheap."""
        self.marked = j
        if 0 <= j < len(self.positions):
            r = self.char_rect(j)
            if not self.viewport().rect().contains(r):
                bar = self.verticalScrollBar()
                bar.setValue(bar.value() + r.center().y() - self.viewport().height() // 2)
        self.viewport().update()

    def index_at(self, pos: QPoint) -> int:
        """The character under viewport point `pos`, or -1."""
        if not len(self.positions):
            return -1
        c = self.cursorForPosition(pos)
        p = c.position()
        if self.cursorRect(c).left() > pos.x():
            p -= 1  # the caret found lies after the character the mouse is on
        j = int(np.searchsorted(self.positions, p, side="right")) - 1
        return j if j >= 0 and self.positions[j] == p else -1

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if 0 <= self.marked < len(self.positions):
            painter = QPainter(self.viewport())
            pen = QPen(QColor(theme.CURSOR), 2.5)
            painter.setPen(pen)
            painter.drawRect(self.char_rect(self.marked).adjusted(-1, -1, 0, 0))
            painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().mouseMoveEvent(event)
        j = self.index_at(event.position().toPoint())
        if j >= 0:
            self.hovered.emit(j)


class CharUnitsPanel(Panel):
    title = "Text by unit activation"
    key = "char_units"
    needs_layers = True
    draws = ("trace", "extras")
    info = (
        "The probe text of the character language model, each character's background "
        "coloured by one hidden unit's activation h_t[k] after reading it (−1 blue, 0 white, "
        "+1 red), as in Karpathy, Johnson & Fei-Fei (2015). Find units ranks the units by "
        "the Pearson correlation ρ_k = cov(h[k], s) / (σ_h[k] σ_s) of their activation with a "
        "feature s_t of the text (inside quotes, position in line, bracket depth, …). The "
        "outlined character is the one at the time cursor t (sequence 0). Below: text sampled "
        "from the model, x_{t+1} ~ softmax(W_hy h_t / temperature)."
    )

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose units colour the text")
        self.unit_spin = QSpinBox(minimum=0, maximum=0, prefix="unit ")
        self.unit_spin.setToolTip("The hidden unit whose activation colours the text")
        self.feature_combo = QComboBox()
        self.feature_combo.addItems(FEATURES)
        self.feature_combo.setToolTip("A feature of the text to look for in the units")
        self.find_button = QPushButton("Find units")
        self.find_button.setToolTip("Rank the units by |correlation| with the feature")
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.controls_row.addWidget(self.unit_spin)
        self.controls_row.addStretch(1)
        for w in (self.feature_combo, self.find_button):
            self.controls_row.addWidget(w)

        self.text_view = ActivationText()
        self.units_list = QListWidget()
        self.units_list.setFont(fixed_font())
        self.units_list.setToolTip("Click a unit to colour the text by it")
        self.units_list.setVisible(False)
        self.sample_title = QLabel()
        self.sample_view = QTextBrowser()
        self.sample_view.setFont(fixed_font())
        sample = QWidget()
        sample_layout = QVBoxLayout(sample)
        sample_layout.setContentsMargins(0, 0, 0, 0)
        sample_layout.addWidget(self.sample_title)
        sample_layout.addWidget(self.sample_view, 1)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.text_view)
        top.addWidget(self.units_list)
        top.setStretchFactor(0, 4)
        top.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(sample)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.hover_label = self.add_hint(HINT)

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self.controls)
        content_layout.addWidget(self.legend)
        content_layout.addWidget(self.splitter, 1)
        content_layout.addWidget(self.hover_label)
        self.stack = NoteStack(content)
        self.note = self.stack.note
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack)

        self.trace: Trace | None = None
        self.layer: LayerTrace | None = None
        self.segments: list[tuple[int, int, int]] = []  # shown (sequence, start, stop)
        self.texts: list[str] = []  # the text of each shown segment
        self.where: list[tuple[int, int]] = []  # shown character -> (sequence, t)
        self.labels: list[str] = []  # shown character -> vocabulary label
        self._drawn = None  # what the document shows: (trace, layer, unit, segments)
        self._fills = [
            QColor(*(int(c) for c in rgb))
            for rgb in theme.cmap(theme.DIVERGING).getLookupTable(0.0, 1.0, 256, alpha=False)
        ]
        self.layer_combo.currentIndexChanged.connect(self._selection_changed)
        self.unit_spin.valueChanged.connect(self._selection_changed)
        self.find_button.clicked.connect(self.find)
        self.feature_combo.currentIndexChanged.connect(self._feature_changed)
        self.units_list.itemClicked.connect(self._unit_clicked)
        self.text_view.hovered.connect(self._hover)

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        self._show_sample(snapshot.extras)
        trace = snapshot.trace
        if trace is None:
            return
        if trace.meta.get("task") != "charlm" or not trace.meta.get("input_vocab"):
            self.trace = None
            self.stack.show_note(NEEDS_CHARLM)
            return
        self.stack.show_figure()
        self.trace = trace
        for w in (self.layer_combo, self.unit_spin):
            w.blockSignals(True)
        self.layer = trace.layers[self.layer_combo.currentIndex()]
        self.unit_spin.setMaximum(self.layer.h.shape[-1] - 1)
        for w in (self.layer_combo, self.unit_spin):
            w.blockSignals(False)
        self._draw_text(self.cursor.t)
        if self.units_list.isVisible() or self.units_list.count():
            self.find()

    def _selection_changed(self) -> None:
        if self.trace is not None:
            self.layer = self.trace.layers[self.layer_combo.currentIndex()]
            self._draw_text(self.cursor.t)
            self.show_time(self.cursor.t)
            if self.units_list.count():
                self.find()

    def _segments(self, t: int) -> list[tuple[int, int, int]]:
        """(sequence, start, stop) shown: whole sequences up to MAX_CHARS characters, or, for
        a sequence longer than that, the block of sequence 0 that holds t."""
        B, T = self.trace.x_raw.shape[:2]
        if T <= MAX_CHARS:
            return [(b, 0, T) for b in range(min(B, MAX_CHARS // T))]
        start = (t // MAX_CHARS) * MAX_CHARS
        return [(0, start, min(T, start + MAX_CHARS))]

    def _draw_text(self, t: int) -> None:
        """Rebuild the document if the trace, layer, unit or shown block changed."""
        segments = self._segments(t)
        unit = self.unit_spin.value()
        drawn = (self.trace, self.layer, unit, segments)
        if self._drawn is not None and all(
            a is b or a == b for a, b in zip(drawn, self._drawn, strict=True)
        ):
            return
        self._drawn, self.segments = drawn, segments
        vocab = self.trace.meta["input_vocab"]
        ids = self.trace.x_raw
        self.labels, self.where, self.texts, values, breaks = [], [], [], [], {}
        T = ids.shape[1]
        for b, start, stop in segments:
            if len(segments) > 1 or start > 0:
                span = f", t = {start}…{stop - 1} of {T}" if stop - start < T else ""
                breaks[len(self.labels)] = f"── sequence {b}{span} ──"
            labels = [vocab[int(i)] for i in ids[b, start:stop]]
            self.texts.append(decode_labels(ids[b, start:stop], vocab))
            self.labels += labels
            self.where += [(b, s) for s in range(start, stop)]
            values.append(self.layer.h[b, start:stop, unit])
        h = np.concatenate(values).astype(np.float64)  # (N,)
        fills, inks = self._colours(h)
        chars = [LABEL_CHARS.get(s, s) for s in self.labels]
        self.text_view.set_characters(chars, fills, inks, breaks)
        self._legend(unit)

    def _colours(self, h: np.ndarray) -> tuple[list[str], list[str]]:
        """Background and text colour (hex) of each activation, -1 blue .. +1 red."""
        with np.errstate(invalid="ignore"):
            idx = np.clip(np.nan_to_num((h + 1) / 2 * 255, nan=0.0), 0, 255).astype(int)  # (N,)
        names = [c.name() for c in self._fills]
        inks = ["#ffffff" if c.lightness() < 140 else "#000000" for c in self._fills]
        finite = np.isfinite(h)
        fills = [names[i] if ok else NAN_FILL for i, ok in zip(idx, finite, strict=True)]
        ink = [inks[i] if ok else "#000000" for i, ok in zip(idx, finite, strict=True)]
        return fills, ink

    def fill_of(self, value: float) -> QColor:
        """The background of a character whose unit activation is `value`."""
        if not np.isfinite(value):
            return QColor(NAN_FILL)
        return self._fills[int(np.clip((value + 1) / 2 * 255, 0, 255))]

    def _legend(self, unit: int) -> None:
        cells = swatches([self._fills[i] for i in np.linspace(0, 255, 11).astype(int)])
        self.legend.setText(f"h<sub>t</sub>[{unit}]: −1 {cells} +1")

    def show_time(self, t: int) -> None:
        if self.trace is None:
            return
        if self._segments(t) != self.segments:  # a long sequence: t left the shown block
            self._draw_text(t)
        b0, start, stop = self.segments[0]
        self.text_view.mark(t - start if b0 == 0 and start <= t < stop else -1)

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Every character the text shows, in order: its t and sequence, itself, and the
        activation of the unit that colours it."""
        if self.trace is None or self._drawn is None:
            return {}
        where = np.array(self.where, dtype=np.int64).reshape(-1, 2)  # (N, 2): sequence, t
        unit = self._drawn[2]
        return {
            "time": {
                "t": where[:, 1],
                "sequence": where[:, 0],
                "character": np.array(self.labels),
                f"h_t[{unit}] ({self.layer.name})": self.layer.h[where[:, 0], where[:, 1], unit],
            }
        }

    # -- the unit search

    def find(self) -> None:
        """List the units of the shown layer whose activation best follows the feature."""
        if self.trace is None:
            return
        feature = self.feature_combo.currentText()
        # each sequence starts from a zero state, so each has its own feature signal
        signal = np.concatenate([feature_signals(text)[feature] for text in self.texts])
        h = np.concatenate([self.layer.h[b, start:stop] for b, start, stop in self.segments])
        ranked = find_units(h, "".join(self.texts), signal, top=TOP_UNITS)  # h (N, H)
        self.units_list.clear()
        self.units_list.setVisible(True)
        if not np.ptp(signal) > 0:  # nothing to correlate with: say so rather than list zeros
            item = QListWidgetItem(f"“{feature}” does not\nchange in this text")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.units_list.addItem(item)
            return
        for unit, r in ranked:
            item = QListWidgetItem(f"unit {unit:>3}  ρ = {r:+.2f}")
            item.setData(Qt.ItemDataRole.UserRole, unit)
            item.setToolTip(f"correlation of h[{unit}] with “{feature}”: {r:+.4f}")
            self.units_list.addItem(item)

    def _feature_changed(self) -> None:
        if self.units_list.count():
            self.find()

    def _unit_clicked(self, item: QListWidgetItem) -> None:
        unit = item.data(Qt.ItemDataRole.UserRole)
        if unit is not None:
            self.unit_spin.setValue(int(unit))

    # -- hover and sample

    def _hover(self, j: int) -> None:
        b, t = self.where[j]
        unit = self.unit_spin.value()
        value = self.layer.h[b, t, unit]
        seq = f"sequence {b}, " if b else ""
        self.hover_label.setText(f"{seq}t = {t} '{self.labels[j]}' h[{unit}] = {value:.2f}")

    def _show_sample(self, extras) -> None:
        sample = extras.get("sample")
        if sample is None:
            self.sample_title.setText("Sampled text: none yet (it comes with training).")
            self.sample_view.clear()
            return
        self.sample_title.setText(
            f"Sampled at step {extras.get('sample_step', '?')}, "
            f"temperature {extras.get('temperature', 1.0):g}:"
        )
        if sample != self.sample_view.toPlainText():
            self.sample_view.setPlainText(sample)
