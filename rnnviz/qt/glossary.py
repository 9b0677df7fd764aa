"""The lecture's notation, explained once: what each symbol in a panel's titles means.

`TERMS` pairs each symbol (as a title writes it, a pattern over the title's plain text) with
one or two sentences for a learner. Everything that explains notation reads it: hovering a
title, an axis label or a node of a plot shows the symbol under the mouse (`TitleTips`,
installed on every panel's plots by `Panel.adopt_plot`), a panel's i button lists the symbols
its plots use (`explain`), and F1 help lists them all (`glossary_html`). Gate words come from
the cell registry (core.cells.GATES), so a gate reads the same here as on its heatmap.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtWidgets import QGraphicsTextItem, QGraphicsView, QToolTip, QWidget

from rnnviz.core.cells import GATES

SUB = r"[\w₀-₉ₜ−+]*"  # a subscript as a title's plain text shows it: t, T−1, ₜ, 50


@dataclass(frozen=True)
class Term:
    symbol: str  # how the lecture writes it
    pattern: str  # a regular expression over a title's plain text
    meaning: str


TERMS: tuple[Term, ...] = (
    Term(
        "‖∂L/∂h_t‖",
        rf"‖∂L/∂h{SUB}‖",
        "The size of the loss gradient with respect to the hidden state at timestep t: how "
        "much the loss L would change if h_t changed. Backpropagation through time carries it "
        "from the end of the sequence back to t; where it falls towards t = 0 the early inputs "
        "cannot be learned (vanishing gradients).",
    ),
    Term(
        "‖∂L_j/∂h_t‖",
        rf"‖∂L\w+/∂h{SUB}‖",
        "The size of the gradient of one loss term L_j (the loss at output step j) with "
        "respect to the hidden state at t: the part of ∂L/∂h_t that the loss at j sends back. "
        "Summed over j it gives ∂L/∂h_t; it is 0 where h_t comes after j (causality).",
    ),
    Term(
        "‖∂h_{T−1}/∂h_t‖",
        rf"‖∂h{SUB}/∂h{SUB}‖₂?",
        "The spectral norm of the Jacobian of the last hidden state with respect to the state "
        "at t: how strongly h_t can still move the final state. It is the product of the "
        "one-step Jacobians ∂h_(s+1)/∂h_s from t to the last step, T − 1 (t counts from 0), "
        "so it shrinks or grows geometrically with the distance in time.",
    ),
    Term(
        "spectral norm ‖A‖₂",
        r"spectral norm",
        "The largest singular value of a matrix: the most it can stretch any vector. For a "
        "Jacobian it bounds how much a gradient can grow in one multiplication.",
    ),
    Term(
        "one-step factor",
        rf"one-step factors?|‖diag\(tanh′\(a{SUB}\)\) ?W{SUB}‖₂?",
        "‖diag(tanh′(a_t)) W_hh‖₂, the spectral norm of one step's Jacobian ∂h_t/∂h_(t−1): "
        "the most one step back can stretch the gradient. Below 1 at every step, the gradient "
        "must vanish.",
    ),
    Term(
        "∏ (product of factors)",
        r"∏\S*",
        "The product of the one-step factors from t to the end: an upper bound on "
        "‖∂h_{T−1}/∂h_t‖, the bound the vanishing- and exploding-gradient argument uses.",
    ),
    Term(
        "ρ(W_hh), spectral radius",
        r"ρ(\(W\w*\))?|[Ss]pectral radius",
        "The spectral radius: the largest |λ| among the eigenvalues of W_hh. Multiplying by "
        "W_hh over and over shrinks every vector when ρ < 1 and can blow vectors up when ρ > 1.",
    ),
    Term(
        "λ, eigenvalues",
        r"[Ee]igenvalues?|(Re |Im )?λ",
        "The eigenvalues of W_hh, plotted in the complex plane against the unit circle "
        "|λ| = 1: outside it, repeated multiplication grows that direction.",
    ),
    Term(
        "σ_k, singular values",
        r"[Ss]ingular values?|σ(?!\()\w*",
        "The singular values of W_hh, largest first: how much it stretches each of its "
        "principal directions (σ_1 is its spectral norm).",
    ),
    Term(
        "σ(x), the sigmoid",
        r"σ\(",
        "The logistic sigmoid 1 / (1 + e^−x), which squashes any number into (0, 1).",
    ),
    Term(
        "PCA",
        r"PCA|PC\d",
        "Principal component analysis: the hidden states h_t of the sequence projected on the "
        "two directions along which they vary most (PC1, PC2), so a path in H dimensions can "
        "be drawn in two.",
    ),
    Term(
        "% variance",
        r"\d+% var",
        "The share of the hidden states' total variance along this principal component: "
        "the two together say how faithful the two-dimensional picture is.",
    ),
    Term(
        "‖g‖, ‖∇‖",
        r"‖g‖|‖∇‖|[Gg]lobal gradient norm",
        "The global gradient norm: the length of the gradient of all the parameters together, "
        "before clipping. Spikes in it are the exploding gradients that clipping cuts.",
    ),
    Term(
        "gradient clipping",
        r"clip(ping|ped)?( threshold)?",
        "When ‖g‖ exceeds the threshold, the whole gradient is scaled down to that length "
        "(clipping by norm; Pascanu, Mikolov & Bengio 2013), so one huge gradient cannot throw "
        "the weights off a cliff. Clipping by value cuts each component instead.",
    ),
    Term(
        "W_hh, W_xh, W_hy",
        r"W_?(hh|xh|hy)",
        "The weights shared by every timestep: W_xh reads the input x_t, W_hh carries the "
        "previous hidden state h_(t−1) into this step, W_hy turns h_t into the output ŷ_t.",
    ),
    Term(
        "h_t, the hidden state",
        r"hidden[- ]state( h\w*)?|‖hₜ‖|\bh[₀-₉]+",
        "What the network passes from one timestep to the next and to its output: h_t sums "
        "up the inputs x_0 … x_t.",
    ),
    Term(
        "c_t, the cell state",
        r"cell state( c\w*)?|‖cₜ‖|\bc[₀-₉]+",
        "The LSTM's memory, carried along the cell path c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t: "
        "only the forget and input gates change it, so the gradient along it is multiplied "
        "by f_t alone at each step back.",
    ),
    Term("x_t, the input", r"\bx[₀-₉]+", "The input at timestep t."),
    Term("ŷ_t, the prediction", r"ŷ\w*|prediction", "What the model outputs at timestep t."),
    Term(
        "y_t, the target",
        rf"target( y{SUB})?( = x{SUB})?",
        "What the output should be at t; for the sine wave the next input, y_t = x_(t+1).",
    ),
    Term(
        "a_t, the pre-activation",
        r"pre-activation( a\w*)?",
        "a_t = W_xh x_t + W_hh h_(t−1) + b: the sum that a unit's nonlinearity (tanh, ReLU) "
        "is applied to.",
    ),
    Term("⊙", r"⊙", "The elementwise product: each unit multiplied by its own gate value."),
    Term(
        "t, timestep",
        r"timestep t|\bt = \d+",
        "The position in the sequence, 0 … T−1. The time cursor (Left, Right, Home, End; P "
        "plays) marks one t in every panel.",
    ),
    Term(
        "chance level",
        r"chance( level)?",
        "The loss of the best constant predictor (the mean, or the class frequencies): a "
        "model at this level has learned nothing from its inputs.",
    ),
    Term(
        "sequence 0",
        r"(probe )?sequence 0",
        "The first sequence of the probe batch: a fixed batch recorded every few steps, so "
        "that pictures taken at different steps compare like with like.",
    ),
    *(
        Term(
            f"{gate.name}_t, the {gate.word}",
            rf"{re.escape(gate.word)}( {gate.name}\w*)?",
            meaning,
        )
        for gate, meaning in (
            (GATES["i"], "How much of the candidate g_t is written into the cell (0 to 1)."),
            (GATES["f"], "How much of the old cell state c_(t−1) is kept (0 to 1)."),
            (GATES["o"], "How much of tanh(c_t) is shown as the hidden state h_t (0 to 1)."),
            (GATES["r"], "GRU: how much of h_(t−1) the candidate n_t may read (0 to 1)."),
            (
                GATES["z"],
                "GRU: how much of h_(t−1) is kept, h_t = (1 − z_t) n_t + z_t h_(t−1) "
                "(PyTorch's convention; lectures often write the same gate as 1 − z).",
            ),
        )
    ),
    Term(
        "g_t / n_t, the candidate",
        r"candidate( [gn]\w*)?",
        "The new content proposed at this step (tanh, from −1 to 1), before the gates decide "
        "how much of it goes in.",
    ),
)
_COMPILED = tuple((term, re.compile(term.pattern)) for term in TERMS)


def plain(text: str) -> str:
    """A title's text as the patterns read it: no word joiners (plotkit.unbroken)."""
    return text.replace("\u2060", "")


def terms_in(text: str) -> list[Term]:
    """The terms a plain text uses, in glossary order."""
    text = plain(text)
    return [term for term, pattern in _COMPILED if pattern.search(text)]


def term_at(text: str, index: int) -> Term | None:
    """The term whose symbol covers character `index` of a plain text, if any."""
    for term, pattern in _COMPILED:
        for match in pattern.finditer(text):
            if match.start() <= index < max(match.end(), match.start() + 1):
                return term
    return None


def explain(terms: list[Term]) -> str:
    """The terms as rich text: each symbol in bold and what it means."""
    return "<br>".join(f"<b>{html.escape(t.symbol)}</b>: {html.escape(t.meaning)}" for t in terms)


def glossary_html() -> str:
    """Every term, for the help page."""
    rows = "".join(
        f"<tr><td><b>{html.escape(t.symbol)}</b></td><td>{html.escape(t.meaning)}</td></tr>"
        for t in TERMS
    )
    return f"<table cellpadding='3'>{rows}</table>"


def plot_terms(views: list[QGraphicsView]) -> list[Term]:
    """Every term the texts of some plot views use (titles, axis labels, nodes), in glossary
    order."""
    found: set[str] = set()
    for view in views:
        for item in view.scene().items():
            if isinstance(item, QGraphicsTextItem) and item.isVisible():
                found.update(t.symbol for t in terms_in(item.toPlainText()))
    return [t for t in TERMS if t.symbol in found]


def info_html(info: str, panel: QWidget) -> str:
    """A panel's info paragraph, then what each symbol its plots show means (the i button)."""
    terms = plot_terms(panel.findChildren(QGraphicsView))
    symbols = f"<p>{explain(terms)}</p>" if terms else ""
    return f"<p>{html.escape(info)}</p>{symbols}"


class TitleTips(QObject):
    """Event filter on a plot view's viewport: hovering a symbol in a title, an axis label or
    a node shows what it means; hovering other words of the text, every symbol it uses."""

    def __init__(self, view: QGraphicsView) -> None:
        super().__init__(view)
        self.view = view
        view.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() != QEvent.Type.ToolTip:
            return False
        text = self.tip_at(event.pos())
        if not text:
            return False  # items' own tooltips (a hovered point's values) go on as before
        QToolTip.showText(event.globalPos(), text, self.view.viewport())
        return True

    def tip_at(self, pos) -> str:
        """The explanation for what lies under viewport position `pos` ("" for none)."""
        scene_pos = self.view.mapToScene(pos)
        for item in self.view.scene().items(scene_pos):
            if not isinstance(item, QGraphicsTextItem):
                continue
            shown = item.toPlainText()
            local: QPointF = item.mapFromScene(scene_pos)
            index = item.document().documentLayout().hitTest(local, Qt.HitTestAccuracy.FuzzyHit)
            term = None
            if index >= 0:  # the same character once the word joiners are gone
                term = term_at(plain(shown), index - shown[:index].count("\u2060"))
            terms = [term] if term is not None else terms_in(shown)
            if terms:
                return explain(terms)
        return ""
