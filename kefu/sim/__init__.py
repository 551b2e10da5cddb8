"""The store simulator: realistic, deterministic, streaming event logs (`kefu simulate`)."""

from kefu.sim.generator import generate

__all__ = ["generate"]
