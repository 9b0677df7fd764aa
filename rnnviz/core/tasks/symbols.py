"""The reserved symbols every token task shares. No torch here: the window names them too."""

from __future__ import annotations

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
