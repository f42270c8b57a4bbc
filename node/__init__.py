"""infernet-node: an Infernet Node built from supervised actors."""

__version__ = "1.4.0"
