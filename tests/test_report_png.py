#!/usr/bin/env python3
"""test_report_png.py - checks a browser screenshot (PNG) of the report without extra packages
(zlib + struct only): decodes 8-bit RGB/RGBA PNGs (all five row filters), and reports size, the
share of non-background pixels and the number of distinct colours. Also crops a band of rows into
a new PNG (for looking at parts of a tall screenshot).

usage: test_report_png.py stats FILE            -> prints "width height ink_share colours", exit 1 if blank
       test_report_png.py crop FILE Y0 Y1 OUT   -> writes rows [Y0, Y1) to OUT
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("%s: only 8-bit RGB/RGBA non-interlaced PNGs (depth %d type %d)" % (path, depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def encode(path, w, bpp, rows):
    raw = b"".join(b"\x00" + r for r in rows)
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", w, len(rows), 8, 2 if bpp == 3 else 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    if sys.argv[1] == "crop":
        w, h, bpp, rows = decode(sys.argv[2])
        encode(sys.argv[5], w, bpp, rows[int(sys.argv[3]):int(sys.argv[4])])
        return 0
    w, h, bpp, rows = decode(sys.argv[2])
    bg = rows[0][:3]
    ink, total, colours = 0, 0, set()
    for y in range(0, h, 3):  # every third row is plenty
        r = rows[y]
        for x in range(0, w * bpp, bpp * 2):
            px = r[x:x + 3]
            total += 1
            ink += px != bg
            if len(colours) < 5000:
                colours.add(px)
    share = ink / max(1, total)
    print("%d %d %.4f %d" % (w, h, share, len(colours)))
    return 0 if share > 0.05 and len(colours) > 50 else 1


if __name__ == "__main__":
    sys.exit(main())
