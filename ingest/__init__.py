"""Ingestion: load files, chunk them by embedder tokens, embed, and store them in Chroma."""
