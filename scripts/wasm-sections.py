#!/usr/bin/env python3
"""Prints the size of each section of a wasm file (what the bytes are)."""
import sys

NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
         7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount"}


def leb(b, i):
    result = shift = 0
    while True:
        x = b[i]
        i += 1
        result |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return result, i


data = open(sys.argv[1], "rb").read()
i = 8
while i < len(data):
    sid = data[i]
    size, i = leb(data, i + 1)
    name = NAMES.get(sid, str(sid))
    if sid == 0:
        n, j = leb(data, i)
        name += " " + data[j:j + n].decode(errors="replace")
    print(f"{name:24} {size:>9}")
    i += size
