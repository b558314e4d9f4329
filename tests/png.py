"""Checking generated PNG files: signature, IHDR size, complete file, and that matplotlib decodes it."""

from __future__ import annotations

import io
import struct

SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a valid PNG; fails on a wrong signature, a truncated file or undecodable pixels."""
    assert data[:8] == SIGNATURE, "not a PNG file"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, "the first chunk of a PNG must be IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data.endswith(IEND), "the PNG is truncated (no IEND chunk at the end)"
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0, "the image is blank"
    return width, height
