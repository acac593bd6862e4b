"""Bundled data: the MNIST subset (with its licence), sample images and icons."""
