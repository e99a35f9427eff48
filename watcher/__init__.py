"""watcher: tells you which of your images must be rebuilt because their base image changed."""

__version__ = "0.1.0"
