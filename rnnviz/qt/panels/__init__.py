"""The dock panels, in their default order. Each is one file, one Panel subclass.

PANELS show in the default layout; LAB_PANELS (the gradient laboratory and the lecture kit)
wait in the View menu until a preset or the user shows them.
"""

from rnnviz.qt.panels.cell_diagram import CellDiagramPanel
from rnnviz.qt.panels.char_units import CharUnitsPanel
from rnnviz.qt.panels.cliff import CliffPanel
from rnnviz.qt.panels.comparison import ComparisonPanel
from rnnviz.qt.panels.factors import GradientFactorsPanel
from rnnviz.qt.panels.gates import GateActivationsPanel
from rnnviz.qt.panels.gradient_history import GradientHistoryPanel
from rnnviz.qt.panels.gradients import GradientNormsPanel
from rnnviz.qt.panels.graph import UnrolledGraphPanel
from rnnviz.qt.panels.spectrum import SpectrumPanel
from rnnviz.qt.panels.states import StateTrajectoriesPanel
from rnnviz.qt.panels.training import TrainingPanel

PANELS = (
    UnrolledGraphPanel,
    GateActivationsPanel,
    StateTrajectoriesPanel,
    GradientNormsPanel,
    TrainingPanel,
)
LAB_PANELS = (
    SpectrumPanel,
    GradientFactorsPanel,
    GradientHistoryPanel,
    ComparisonPanel,
    CliffPanel,
    CellDiagramPanel,
    CharUnitsPanel,
)

__all__ = [
    "CellDiagramPanel",
    "CharUnitsPanel",
    "CliffPanel",
    "ComparisonPanel",
    "LAB_PANELS",
    "PANELS",
    "GateActivationsPanel",
    "GradientFactorsPanel",
    "GradientHistoryPanel",
    "GradientNormsPanel",
    "SpectrumPanel",
    "StateTrajectoriesPanel",
    "TrainingPanel",
    "UnrolledGraphPanel",
]
