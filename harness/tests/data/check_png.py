"""Checks a PNG screenshot is not blank: it decodes the image data (stdlib only) and requires
many distinct byte values, which a page of one colour, filtered and deflated, does not have."""
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, size = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        size = struct.unpack(">II", body[:8])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
pixels = zlib.decompress(idat)
distinct = len(set(pixels))
print(f"{size[0]}x{size[1]}, {len(pixels)} bytes, {distinct} distinct byte values")
assert size[0] >= 800 and size[1] >= 600, size
assert distinct >= 64, "the screenshot is blank"
