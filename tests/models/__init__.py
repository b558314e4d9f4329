"""Torch models the import tests trace (plain torch; torchvision is not available, so its structures
are reproduced here)."""
