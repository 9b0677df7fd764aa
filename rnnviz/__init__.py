"""rnnviz: watch recurrent neural networks learn — gates, states and per-timestep gradients."""

__version__ = "0.1.0"
