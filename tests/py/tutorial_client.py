"""The socket tutorial's client, unchanged in spirit: connect, recv(1024) once,
print what arrived as text. No framing.

Usage: python3 tutorial_client.py PORT   (always 127.0.0.1)
"""
import socket
import sys

port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(("127.0.0.1", port))
print(s.recv(1024).decode())
s.close()
