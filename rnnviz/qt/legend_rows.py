"""A legend in a row of its own above a figure, wrapped to the figure's width.

pyqtgraph's LegendItem neither wraps nor tells the layout its height: with more entries than
a narrow dock holds side by side it is cut off at the right edge, and given a fixed column
count its second row prints over the plot below. `wrap_legend` puts as many entries side by
side as the width holds, the rest on the next rows, and makes the legend's row of the layout
as tall as those rows. Call it when the entries change and when the view is resized.
`fill_legend` shows a list of entries, relabelling the ones a legend already holds in place
(a legend rebuilt at every recording was much of a panel's redraw time).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsGridLayout


def fill_legend(legend: pg.LegendItem, entries: list[tuple[pg.GraphicsObject, str]]) -> bool:
    """Show `entries` (item, text) in `legend`: where it holds the same items in the same
    order only the texts that differ are set, otherwise it is filled anew. True if anything
    changed (then the legend may need wrapping again)."""
    held = legend.items
    if [sample.item for sample, _ in held] != [item for item, _ in entries]:
        legend.clear()
        for item, text in entries:
            legend.addItem(item, text)
        return True
    changed = False
    for (_, label), (_, text) in zip(held, entries, strict=True):
        if label.text != text:
            label.setText(text)
            changed = True
    return changed


def wrap_legend(legend: pg.LegendItem, layout: QGraphicsGridLayout, row: int, width: float) -> int:
    """Lay `legend`, in row `row` of `layout`, out in as many columns as `width` (scene
    units: the view's range, which a figure drawn smaller makes wider than the view) holds;
    the number of columns."""
    entries = legend.items
    if not entries:
        layout.setRowFixedHeight(row, 0)
        return 0
    legend.setMinimumWidth(0)  # its width follows the columns, never the other way round
    # drawn to the figure's scale, as its plots are where a small dock draws them smaller
    # (pyqtgraph draws a legend at screen size: it would not fit the width it was wrapped to)
    legend.setFlag(legend.GraphicsItemFlag.ItemIgnoresTransformations, False)
    spacing = legend.layout.horizontalSpacing() + 3  # pyqtgraph's gap between entries
    widest = max(s.boundingRect().width() + lb.item.boundingRect().width() for s, lb in entries)
    columns = max(1, min(len(entries), int(width // (widest + 2 * spacing))))
    legend.setColumnCount(columns)  # nothing happens where the count is the same
    line = max(max(s.boundingRect().height(), lb.item.boundingRect().height()) for s, lb in entries)
    margins = legend.layout.getContentsMargins()
    rows = -(-len(entries) // columns)
    layout.setRowFixedHeight(row, rows * line + margins[1] + margins[3])
    return columns
