"""Benchmarks of the rag pipeline against LlamaIndex's default one (run with `rag bench`)."""
