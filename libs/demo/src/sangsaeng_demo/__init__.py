"""``make demo``: the center's H1 2025, simulated through the real HTTP APIs."""
