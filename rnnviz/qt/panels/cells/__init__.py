"""The gated cells drawn as in the lecture, with live values."""
