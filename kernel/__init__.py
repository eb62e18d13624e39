"""shopkernel: an async microkernel whose domains are plugins."""

__version__ = "0.1.0"
