"""A len32 client written the way a Python learner would: struct.pack('>I', n).

Modes (all against 127.0.0.1:PORT):
  echo      one frame sent one byte at a time, then three frames in a single
            write (a 70,000-byte one, an empty one, a short one); every echo must
            come back exactly. Prints "ok <frames> <bytes>".
  oversized sends a length prefix of 0xFFFFFFF0 and a few bytes, then expects
            the server to close the connection (EOF or reset). Prints "closed".
  idle      connects, sends nothing, prints "closed after <seconds>" when the
            server closes the connection.

Usage: python3 len32_client.py MODE PORT
"""
import socket
import struct
import sys
import time


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_frame(s):
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    return recv_exact(s, n)


def wait_closed(s):
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    if mode == "echo":
        first = "one byte at a time, é".encode()
        for b in frame(first):
            s.send(bytes([b]))
            time.sleep(0.001)
        assert recv_frame(s) == first, "byte-by-byte frame not echoed"
        big = bytes((i * 7 + 3) % 256 for i in range(70000))
        msgs = [big, b"", b"the last one"]
        s.sendall(b"".join(frame(m) for m in msgs))
        for i, m in enumerate(msgs):
            got = recv_frame(s)
            assert got == m, "frame %d: sent %d bytes, got %d back" % (i, len(m), len(got))
        print("ok", 1 + len(msgs), len(first) + sum(len(m) for m in msgs))
    elif mode == "oversized":
        s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"abc")
        wait_closed(s)
        print("closed")
    elif mode == "idle":
        start = time.monotonic()
        wait_closed(s)
        print("closed after %.2f" % (time.monotonic() - start))
    else:
        raise SystemExit("unknown mode " + mode)
    s.close()


main()
