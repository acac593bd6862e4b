"""Datasets and image input. Never imports Qt."""
