"""The dock panels, in their default order. Each is one file, one Panel subclass.

PANELS show in the default layout; LAB_PANELS (the gradient laboratory and the lecture kit)
wait in the View menu until a preset or the user shows them.
"""

from rnnviz.qt.panels.cells.diagram import CellDiagramPanel
from rnnviz.qt.panels.core.gates import GateActivationsPanel
from rnnviz.qt.panels.core.gradients import GradientNormsPanel
from rnnviz.qt.panels.core.graph import UnrolledGraphPanel
from rnnviz.qt.panels.core.states import StateTrajectoriesPanel
from rnnviz.qt.panels.core.training import TrainingPanel
from rnnviz.qt.panels.lab.attention import AttentionPanel
from rnnviz.qt.panels.lab.cliff import CliffPanel
from rnnviz.qt.panels.lab.comparison import ComparisonPanel
from rnnviz.qt.panels.lab.factors import GradientFactorsPanel
from rnnviz.qt.panels.lab.gate_weights import GateWeightsPanel
from rnnviz.qt.panels.lab.gradient_history import GradientHistoryPanel
from rnnviz.qt.panels.lab.itemized import ItemizedPanel
from rnnviz.qt.panels.lab.memory_reach import MemoryReachPanel
from rnnviz.qt.panels.lab.saturation import GateSaturationPanel
from rnnviz.qt.panels.lab.spectrum import SpectrumPanel
from rnnviz.qt.panels.seq2seq.bottleneck import BottleneckPanel
from rnnviz.qt.panels.seq2seq.decoding import DecodingPanel
from rnnviz.qt.panels.seq2seq.whatif import WhatIfPanel
from rnnviz.qt.panels.text.char_units import CharUnitsPanel
from rnnviz.qt.panels.text.connectivity import ConnectivityPanel
from rnnviz.qt.panels.text.guesses import NextGuessesPanel
from rnnviz.qt.panels.text.piano_roll import PianoRollPanel
from rnnviz.qt.panels.words.attribution import AttributionPanel
from rnnviz.qt.panels.words.embedding import EmbeddingPanel
from rnnviz.qt.panels.words.evidence import EvidencePanel

PANELS = (
    UnrolledGraphPanel,
    GateActivationsPanel,
    StateTrajectoriesPanel,
    GradientNormsPanel,
    TrainingPanel,
)
LAB_PANELS = (
    SpectrumPanel,
    GateWeightsPanel,
    GradientFactorsPanel,
    GradientHistoryPanel,
    ComparisonPanel,
    CliffPanel,
    GateSaturationPanel,
    ItemizedPanel,
    MemoryReachPanel,
    AttentionPanel,
    BottleneckPanel,
    DecodingPanel,
    WhatIfPanel,
    CellDiagramPanel,
    CharUnitsPanel,
    NextGuessesPanel,
    ConnectivityPanel,
    PianoRollPanel,
    EvidencePanel,
    AttributionPanel,
    EmbeddingPanel,
)

__all__ = [
    "AttentionPanel",
    "AttributionPanel",
    "BottleneckPanel",
    "CellDiagramPanel",
    "CharUnitsPanel",
    "CliffPanel",
    "ComparisonPanel",
    "ConnectivityPanel",
    "DecodingPanel",
    "EmbeddingPanel",
    "EvidencePanel",
    "LAB_PANELS",
    "PANELS",
    "PianoRollPanel",
    "GateActivationsPanel",
    "GateSaturationPanel",
    "GateWeightsPanel",
    "GradientFactorsPanel",
    "GradientHistoryPanel",
    "GradientNormsPanel",
    "ItemizedPanel",
    "MemoryReachPanel",
    "NextGuessesPanel",
    "SpectrumPanel",
    "StateTrajectoriesPanel",
    "TrainingPanel",
    "UnrolledGraphPanel",
    "WhatIfPanel",
]
