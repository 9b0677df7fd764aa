"""The gradient laboratory: where vanishing and exploding gradients come from (the W_hh
spectrum, the one-step factors, the gradient over training, Pascanu's cliff) and runs side by
side."""
