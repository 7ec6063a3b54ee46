#!/usr/bin/env python3
"""external-dns's encrypted ownership markers, an implementation independent of zonesync.

Written from external-dns's `endpoint/crypto.go` and `endpoint/labels.go` with Python's
`cryptography` package, so zonesync's tests can check both directions: zonesync opens what this
seals, and this opens what zonesync writes.

    value = base64(nonce(12) || AES-256-GCM seal(gzip(plain marker text)))

gzip as Go's `compress/gzip` writes it at BestCompression: header with mtime 0, XFL 2, OS 255;
the deflate stream is sync-flushed (Go calls Flush before Close) and then finished.
The key is read as external-dns reads `--txt-encrypt-aes-key`: its bytes when there are 32,
else standard base64 of 32 bytes.

Usage:
    external_dns_markers.py seal KEY NONCE TEXT   prints the value; NONCE is base64 of 12
                                                  bytes, or - for a random one
    external_dns_markers.py open KEY VALUE        prints the plain text, then the nonce (base64);
                                                  exit 3 when the value does not open
"""

import base64
import binascii
import gzip
import os
import struct
import sys
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_SIZE = 12


def read_key(text: str) -> bytes:
    raw = text.encode()
    if len(raw) == 32:
        return raw
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) != 32:
        sys.exit("the AES Encryption key must be 32 bytes long, in either plain text or base64-encoded format")
    return decoded


def go_gzip(data: bytes) -> bytes:
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x02\xff"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH) + deflate.flush(zlib.Z_FINISH)
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return header + body + trailer


def seal(key: bytes, nonce: bytes, text: str) -> str:
    sealed = AESGCM(key).encrypt(nonce, go_gzip(text.encode()), None)
    return base64.b64encode(nonce + sealed).decode()


def open_value(key: bytes, value: str) -> tuple[str, str]:
    data = base64.b64decode(value.strip('"'), validate=True)
    if len(data) <= NONCE_SIZE:
        raise ValueError("shorter than a nonce")
    nonce, sealed = data[:NONCE_SIZE], data[NONCE_SIZE:]
    plain = AESGCM(key).decrypt(nonce, sealed, None)
    return gzip.decompress(plain).decode(), base64.b64encode(nonce).decode()


def main() -> None:
    if len(sys.argv) != 4 + (sys.argv[1:2] == ["seal"]):
        sys.exit(__doc__)
    command, key = sys.argv[1], read_key(sys.argv[2])
    if command == "seal":
        nonce_arg, text = sys.argv[3], sys.argv[4]
        nonce = os.urandom(NONCE_SIZE) if nonce_arg == "-" else base64.b64decode(nonce_arg, validate=True)
        if len(nonce) != NONCE_SIZE:
            sys.exit("the nonce must be base64 of 12 bytes")
        print(seal(key, nonce, text))
    elif command == "open":
        try:
            text, nonce = open_value(key, sys.argv[3])
        except (InvalidTag, ValueError, binascii.Error, OSError):
            sys.exit(3)
        print(text)
        print(nonce)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
