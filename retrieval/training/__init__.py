"""Training askdocs' cross-encoder reranker: data sources, hard-negative mining, self-supervised pairs, the loop."""
