"""What a run will take, estimated from its settings before anything is built: the memory of
the model, of one training step and of the recording of the probe batch; the work of one
training step and of the W_hh spectra in each recording; and whether the ||dh_T/dh_t||
Jacobian chain fits the recording budget.

Why: each setting had a range of its own, and together they were accepted and then failed —
4096 units, a batch of 65536 or 100000 timesteps took 6 GB before the first step or froze the
window. `Config.validate` refuses a run whose estimate exceeds a budget, naming both.

The figures are fitted to the peak RSS growth of one step on the CPU (float32, fused kernels;
benchmarks/README.md, "Limits"): a training step keeps 4 (4G + 2) bytes per sequence,
timestep, unit, layer and direction (G gate blocks: 72 B for the LSTM, measured 71; 56 B for
the GRU, measured 52; 24 B for the Elman RNN, measured 26). The parameters count six times
(weights, gradients, two optimiser moments, the divergence backup, the initial state for
Reset) and once more in each recording. Symbol tasks are assumed to have at most 256 symbols.

No torch here: the window validates settings without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnnviz.core import cells, tasks
from rnnviz.core.lookback import CACHE_REACH

if TYPE_CHECKING:
    from rnnviz.core.config import Config

GB = 1e9
MEMORY_BUDGET = 2 * GB  # beyond torch itself (~0.3 GB): a laptop with 8 GB runs the window too
STEP_WORK_BUDGET = 50e9  # flops of one training step: 20 GFLOP took 1.5 s on one busy core
# L D G H^3: the eigenvalues of every W_hh gate block, in every recording (the spectra panels).
# One 512 x 512 block took 0.8-1.2 s on one busy core, one 1024 x 1024 block 4.2 s.
SPECTRA_BUDGET = 6e8
# n T H^3 L D of the Jacobian chain in one recording (n sequences): the chain at full rank.
# It keeps its full rank only while the one-step Jacobians' product does (a long memory); an
# untrained chain loses rank within ~200 steps and costs a fraction: at a load of 12 on one
# core, H 128 T 1000 (2.1e9) took 0.17 s, H 128 T 3000 (6.3e9) 0.52 s, H 256 T 400 (6.7e9)
# 0.50 s, H 512 T 50 (6.7e9, all at full rank) 0.87 s. 4e9 admits every H <= 128, T <= 1000
# (issue 14) and at most ~1 s of full rank. H counts as at least 64: below that the chain's
# per-step numpy calls dominate.
JACOBIAN_BUDGET = 4e9
_JACOBIAN_MIN_H = 64
_SYMBOLS = 256  # vocabulary assumed for symbol tasks (inputs one-hot or embedded, logits out)
_FLOAT = 4  # bytes
# the melody cache's band (core/melody_cache.py) per sequence, step and earlier step it reads,
# for each of its two votes (exact and transposed): two int64 and a bool, and the ~20 float32
# tensors of that shape its output keeps for the backward pass (counted from the code, not
# fitted: the bundled tunes never fill the band)
_CACHE_BYTES = 2 * 96


@dataclass(frozen=True)
class Estimate:
    """Bytes a run takes beyond torch itself, and the work of a step and of a recording."""

    params: int  # weights, gradients, optimiser state and copies: kept
    trace: int  # the latest recording of the probe batch: kept
    training: int  # one training step's activations, forward and backward: for the step
    recording: int  # a recording's pass and Jacobian chain (when that fits): while it runs
    step_flops: float
    spectra_work: float  # L D G H^3: eigenvalues of every W_hh block, each recording

    @property
    def memory(self) -> int:
        """The peak: what is kept, and a training step or a recording (never both at once)."""
        return self.params + self.trace + max(self.training, self.recording)


def estimate(config: Config) -> Estimate:
    """What `config` will take, from its settings alone (see the module docstring)."""
    cell = cells.CELLS[config.cell]
    G, H, L = len(cell.blocks), config.hidden, config.layers
    D = 2 if config.bidirectional else 1
    spec = tasks.TASKS[config.task]
    raw_in = _SYMBOLS if spec.symbols_in else 2  # real inputs: one or two features
    first_in = raw_in if config.resolved_encoder in ("onehot", "identity") else config.embed_dim
    out = _SYMBOLS if spec.kind == "classification" else 1
    tables = 3 if config.resolved_encoder == "lookback" else 1  # its own table: 2 V rows
    n_params = out * (H * D + 1) + (tables * raw_in * config.embed_dim if first_in != raw_in else 0)
    matmul = 0  # multiply-adds per sequence and timestep, all layers
    for k in range(L):
        in_k = first_in if k == 0 else H * D
        n_params += D * (G * H * (in_k + H) + 2 * G * H + (3 * H if cell.peephole else 0))
        matmul += D * G * H * (in_k + H)
    matmul += out * H * D
    units = L * D * H  # recorded values per sequence and timestep, per kind
    per_token = _FLOAT * ((4 * G + 2) * units + 3 * (raw_in + out))  # a step's activations
    kept = _FLOAT * ((2 * G + 6) * units + 2 * (raw_in + out))  # gates, states, gradients
    if config.resolved_encoder == "lookback":  # and its melody cache in the output
        per_token += _CACHE_BYTES * min(config.seq_len, CACHE_REACH)
    probe_tokens = config.probe_batch * config.seq_len
    return Estimate(
        params=7 * _FLOAT * n_params,
        trace=probe_tokens * kept,
        training=config.batch * config.seq_len * per_token,
        recording=probe_tokens * per_token + _jacobian_bytes(config, L * D),
        step_flops=6.0 * config.batch * config.seq_len * matmul,  # forward 2, backward 4
        spectra_work=float(L * D * G * H**3),
    )


def jacobian_work(hidden: int, seq_len: int, paths: int, sequences: int) -> float:
    """n T H^3 L D: the chain M_{t-1} = M_t J_t for `sequences` sequences along `paths`
    (layers times directions)."""
    return float(sequences) * seq_len * max(hidden, _JACOBIAN_MIN_H) ** 3 * paths


def jacobian_skip_reason(hidden: int, seq_len: int, paths: int, sequences: int) -> str | None:
    """None when ||dh_T/dh_t|| for `sequences` sequences fits the recording budget, else why
    it is skipped, for a person (the trace's meta["jacobian"], shown by the gradient panel)."""
    work = jacobian_work(hidden, seq_len, paths, sequences)
    if work <= JACOBIAN_BUDGET:
        return None
    return (
        f"skipped: H = {hidden}, T = {seq_len} would cost n·T·H³·L·D = {work:.2g} for the "
        f"Jacobian chain, over the recording budget of {JACOBIAN_BUDGET:.0g} "
        "(up to a second of one core)"
    )


def _jacobian_bytes(config: Config, paths: int) -> int:
    """The chain's working memory: six (n, 128, H, H) float32 blocks of steps at a time
    (measured: 6.3 at H = 256), for the most sequences n that fit the budget."""
    H, T = config.hidden, config.seq_len
    n = config.probe_batch
    while n and jacobian_skip_reason(H, T, paths, n):
        n -= 1
    return 6 * _FLOAT * n * min(T, 128) * H * H


def check(config: Config) -> str | None:
    """None when `config` fits the budgets, else a message for a person naming the estimate
    and the limit."""
    e = estimate(config)
    lower = "lower the batch, the sequence length, the hidden size or the layers"
    if e.memory > MEMORY_BUDGET:
        return (
            f"this run would take about {e.memory / GB:.1f} GB (model {e.params / GB:.1f}, "
            f"a training step {e.training / GB:.1f}, recording the probe batch "
            f"{(e.trace + e.recording) / GB:.1f}), "
            f"more than the {MEMORY_BUDGET / GB:.0f} GB budget: {lower}"
        )
    if e.step_flops > STEP_WORK_BUDGET:
        return (
            f"a training step would take about {e.step_flops / 1e9:.0f} GFLOP, more than the "
            f"{STEP_WORK_BUDGET / 1e9:.0f} GFLOP budget (about a second on a laptop): {lower}"
        )
    if e.spectra_work > SPECTRA_BUDGET:
        return (
            f"each recording would spend L·D·G·H³ = {e.spectra_work:.2g} on the spectra of "
            f"W_hh, more than the {SPECTRA_BUDGET:.0g} budget (about a second on a laptop): "
            "lower the hidden size or the layers"
        )
    return None
