"""The core panels: the unrolled graph, the gates, the states, the gradient through time and
training — what the recurrence and BPTT lecture shows, visible in the default layout."""
