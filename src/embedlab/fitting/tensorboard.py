"""A minimal TensorBoard scalar writer: TFRecord-framed ``Event`` protobufs, no TensorFlow, no torch.

``ScalarWriter("runs/w2v").add_scalar("train/loss", 0.52, step=1)`` appends to
``events.out.tfevents.<time>.<host>`` what ``tensorboard --logdir runs`` plots. The protobuf fields
are written by hand (Event: wall_time=1, step=2, file_version=3, summary=5; Summary.Value: tag=1,
simple_value=2) and each record carries masked CRC-32C checksums as TFRecord requires. Scalars only.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli): ``crc32c(b"123456789") == 0xE3069283``."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> bytes:
    crc = crc32c(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        bits, n = n & 0x7F, n >> 7
        out.append(bits | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(step: int, *, summary: bytes = b"", file_version: str | None = None) -> bytes:
    out = b"\x09" + struct.pack("<d", time.time()) + b"\x10" + _varint(step)
    if file_version is not None:
        out += _field(3, file_version.encode())
    if summary:
        out += _field(5, summary)
    return out


class ScalarWriter:
    """Append scalar points to a TensorBoard event file in ``logdir``."""

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        folder = Path(logdir)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
        self.path = folder / name
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across epochs
        self._write(_event(0, file_version="brain.Event:2"))

    def _write(self, record: bytes) -> None:
        header = struct.pack("<Q", len(record))
        self._file.write(header + _masked(header) + record + _masked(record))
        self._file.flush()

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        value_msg = _field(1, tag.encode()) + b"\x15" + struct.pack("<f", float(value))
        self._write(_event(step, summary=_field(1, value_msg)))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ScalarWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
