"""Pytest fixtures that run a real CNCF distribution registry on loopback."""
