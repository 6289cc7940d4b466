"""Homeport: the OpenAI platform API, self-hosted, on open-weight models."""

__all__ = ["__version__"]

__version__ = "0.1.0"
