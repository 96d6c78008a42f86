"""The differential fuzzer: random programs over the public API, replayed in microgradnp and PyTorch.

See README.md in this folder.
"""
