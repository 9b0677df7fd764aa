"""A legend shown again with the same curves is relabelled in place, with the new texts."""

from __future__ import annotations

import pyqtgraph as pg

from rnnviz.qt.legend_rows import fill_legend


def test_the_same_curves_keep_their_entries_and_get_the_new_texts(qtbot):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    legend = pg.LegendItem()
    view.addItem(legend)
    a, b = pg.PlotDataItem([0, 1], [0, 1]), pg.PlotDataItem([0, 1], [1, 0])
    assert fill_legend(legend, [(a, "LSTM (now 3)"), (b, "GRU (now 5)")])
    labels = [label for _, label in legend.items]
    assert not fill_legend(legend, [(a, "LSTM (now 3)"), (b, "GRU (now 5)")])
    assert fill_legend(legend, [(a, "LSTM (now 4)"), (b, "GRU (now 5)")])
    assert [label for _, label in legend.items] == labels  # the same entries, relabelled
    assert [label.text for _, label in legend.items] == ["LSTM (now 4)", "GRU (now 5)"]
    assert fill_legend(legend, [(b, "GRU (now 5)")])  # other curves: filled anew
    assert [(s.item, label.text) for s, label in legend.items] == [(b, "GRU (now 5)")]
