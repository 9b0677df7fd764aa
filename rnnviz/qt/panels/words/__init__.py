"""Panels for the word tasks: how a sentence's decision forms (evidence over time, the
attribution strip) and where the vocabulary lies (the embedding map)."""
