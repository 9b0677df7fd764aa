"""`rnnviz trace --model FILE --input X.npy --out F.npz`: record a user's own model (a token
model: `--input TEXT.txt --vocab VOCAB.json`).

The model file states the architecture (core/foreign.py), so no model or task option applies
beside it, except --nonlinearity (an Elman RNN's activation is not in a state_dict; tanh
unless given). Every sequence of the input is recorded; --jacobian-sequences limits the costly
||dh_T/dh_t|| to the first N (the window asks for 1: its panels show sequence 0).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields
from pathlib import Path

from rnnviz.cli_common import UsageError, check_output, write_output
from rnnviz.core.config import Config

# Config options that mean something beside --model; any other one typed is a mistake.
APPLY_TO_MODEL = {"nonlinearity"}


def add_model_options(trace: argparse.ArgumentParser) -> None:
    group = trace.add_argument_group(
        "your own model (instead of training one)",
        "A state_dict of a plain PyTorch nn.RNN, nn.LSTM or nn.GRU (.pt/.pth, read with "
        "torch.load(weights_only=True): never runs code from the file), a .safetensors file "
        "or an rnnviz checkpoint, recorded on your input. A token model (an nn.Embedding "
        "saved as embedding.weight, embed.weight, embeddings.weight or emb.weight beside the "
        "recurrent layer) reads text with --vocab.",
    )
    group.add_argument("--model", metavar="FILE", help="the model file")
    group.add_argument(
        "--input",
        metavar="X.npy|X.csv|TEXT.txt",
        help="the input: .npy of shape [B, T, I] or [T, I], or CSV with one timestep a row; "
        "for a token model, a UTF-8 text (one sequence) with --vocab",
    )
    group.add_argument(
        "--vocab",
        metavar="VOCAB.json",
        help="a token model's vocabulary: a JSON list of the tokens in id order, as many as "
        "the embedding has rows",
    )
    group.add_argument(
        "--tokens",
        default="auto",
        metavar="auto|chars|words",  # checked by core/foreign_tokens.py, which imports torch
        help="how the text splits into tokens: chars, words (at whitespace), or auto (chars "
        "when every token of the vocabulary but <unk>, <pad>, … is one character; the default)",
    )
    group.add_argument(
        "--objective",
        default="state",
        metavar="L",
        help="the scalar L of the top layer's final state h_n whose gradients dL/dh_t are "
        "recorded: state (½‖h_n‖², the default) or unit:K (h_n[K])",
    )
    group.add_argument(
        "--jacobian-sequences",
        type=int,
        metavar="N",
        help="how many of the sequences get ‖∂h_T/∂h_t‖, the costly part (default: all)",
    )


def run_model_trace(args: argparse.Namespace) -> int:
    """Open --model, record it on --input and write --out (on the CPU)."""
    if args.model is None:
        raise UsageError("--input needs --model (the file of your own model)")
    if args.input is None:
        raise UsageError(
            "--model needs --input (a .npy or .csv file of the sequences; a text with --vocab)"
        )
    if args.tokens != "auto" and args.vocab is None:
        raise UsageError("--tokens applies to a token model's text: give its --vocab too")
    if args.jacobian_sequences is not None and args.jacobian_sequences < 0:
        raise UsageError(f"--jacobian-sequences must be 0 or more, got {args.jacobian_sequences}")
    typed = {f.name for f in fields(Config) if getattr(args, f.name) is not None}
    stray = sorted(typed - APPLY_TO_MODEL)
    if stray:
        option = "--" + stray[0].replace("_", "-")
        raise UsageError(f"{option} does not apply with --model: the file states the model")
    out = Path(args.out)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    check_output(out, "trace")
    # torch only now: a mistake in the options is said at once
    from rnnviz.core.foreign import ForeignModelError, load_model
    from rnnviz.core.foreign_tokens import TOKENIZATIONS, read_model_input
    from rnnviz.core.foreign_trace import record_foreign
    from rnnviz.core.threads import use_training_threads

    if args.tokens not in TOKENIZATIONS:
        raise UsageError(f"--tokens must be {', '.join(TOKENIZATIONS)}, got {args.tokens!r}")

    use_training_threads(args.threads)
    start = time.perf_counter()
    try:
        model = load_model(args.model, args.nonlinearity or "tanh")
        opened = time.perf_counter() - start
        x, vocab, tokens = read_model_input(args.input, model, args.vocab, args.tokens)
        meta = {"model_file": Path(args.model).name}
        if vocab is not None:
            meta |= {"vocab_file": Path(args.vocab).name, "tokenization": tokens}
        trace = record_foreign(
            model,
            x,
            args.objective,
            vocab=vocab,
            jacobian_sequences=args.jacobian_sequences,
            meta=meta,
        )
    except ForeignModelError as e:
        raise UsageError(str(e)) from None
    write_output(lambda: trace.save_npz(out), out)
    B, T = trace.loss_mask.shape
    print(f"{model.describe()} ({model.origin}), opened in {opened:.2f} s")
    print(
        f"wrote {out}: {len(trace.to_arrays())} arrays, {B} sequence{'s' * (B != 1)} x {T} steps, "
        f"gradients of {trace.meta['objective']} = {trace.loss:.6g}, "
        f"{time.perf_counter() - start:.2f} s in all"
    )
    return 0
