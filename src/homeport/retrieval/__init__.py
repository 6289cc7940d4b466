"""Retrieval: parsing, token chunking, embeddings, the vector + keyword index, filters and ranking."""

from homeport.retrieval.embedder import Embedder

__all__ = ["Embedder"]
