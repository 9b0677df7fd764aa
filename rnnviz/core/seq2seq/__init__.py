"""The encoder-decoder: a model kind beside the single stack (model.MODEL_KINDS["seq2seq"]).

An encoder of any rnnviz cell (stacked, optionally bidirectional) reads the input; a decoder
of any cell, started from the encoder's final state, writes the output one token at a time,
reading the previous output token (the target's, under teacher forcing in training; its own
at inference, greedy or by beam search). With attention each decoder step also looks back at
every encoder state.

    attention.py   none (the bottleneck), additive (Bahdanau) and dot (Luong) attention
    model.py       Seq2SeqModel: encoder, bridge, decoder, attention, read-out
    decoding.py    greedy decoding and beam search
    record.py      one batch's every internal value, both halves, as a Seq2SeqTrace
    trace.py       Seq2SeqTrace: the Trace plus the decoder, the attention and the tokens
    bottleneck.py  held-out exact match against the input length

References: Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural
Networks"; Cho et al. 2014; Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by
Jointly Learning to Align and Translate"; Luong, Pham & Manning 2015, "Effective Approaches to
Attention-based Neural Machine Translation".

This module imports no torch: the configuration reads ATTENTIONS.
"""

# The attention settings (Config.attention); attention.py implements each.
ATTENTIONS = ("none", "additive", "dot")
BEAM_WIDTHS = (1, 5)  # the smallest and largest --beam
