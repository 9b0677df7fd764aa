"""The encoder-decoder's decoding panels: decoding step by step (the top-k and the beam search
tree) and What if (a typed input decoded at once, with an attention row to pin)."""
