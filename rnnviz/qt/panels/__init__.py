"""The dock panels, in their default order. Each is one file, one Panel subclass."""

from rnnviz.qt.panels.gates import GateActivationsPanel
from rnnviz.qt.panels.gradients import GradientNormsPanel
from rnnviz.qt.panels.graph import UnrolledGraphPanel
from rnnviz.qt.panels.states import StateTrajectoriesPanel
from rnnviz.qt.panels.training import TrainingPanel

PANELS = (
    UnrolledGraphPanel,
    GateActivationsPanel,
    StateTrajectoriesPanel,
    GradientNormsPanel,
    TrainingPanel,
)

__all__ = ["PANELS", "GateActivationsPanel", "GradientNormsPanel", "StateTrajectoriesPanel",
           "TrainingPanel", "UnrolledGraphPanel"]
