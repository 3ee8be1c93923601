"""A plain tutorial-style server: bind 127.0.0.1 on a free port, listen(5),
print the port (so the test can find it), accept one client, send the greeting
given as argv[1], close.

Usage: python3 greet_server.py GREETING
"""
import socket
import sys

greeting = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(5)
s.settimeout(20)
print(s.getsockname()[1], flush=True)
c, addr = s.accept()
c.sendall(greeting.encode())
c.close()
s.close()
