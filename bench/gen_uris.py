#!/usr/bin/env python3
"""Writes N otpauth:// URIs, one a line, with random 20-byte base32 secrets.

usage: gen_uris.py N [PREFIX] > uris.txt
Accounts are PREFIX + a zero-padded index (user0000001@example.com), so every line
is a distinct account and files made with different prefixes can go into one store.
"""
import base64
import os
import sys


def main() -> None:
    n = int(sys.argv[1])
    prefix = sys.argv[2] if len(sys.argv) > 2 else "user"
    out = sys.stdout
    width = max(7, len(str(n)))
    chunk = []
    for i in range(n):
        secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
        chunk.append(
            f"otpauth://totp/Bench:{prefix}{i:0{width}d}%40example.com"
            f"?secret={secret}&issuer=Bench&algorithm=SHA1&digits=6&period=30\n"
        )
        if len(chunk) == 10000:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))


if __name__ == "__main__":
    main()
