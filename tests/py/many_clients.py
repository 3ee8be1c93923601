"""N tutorial clients at once (one thread each), all connected before any reads:
each receives until the server closes and checks the greeting. Prints
"<ok> of <n> got the greeting".

Usage: python3 many_clients.py PORT N
"""
import socket
import sys
import threading

port, n = int(sys.argv[1]), int(sys.argv[2])
expected = b"Thank you for connecting"
ok = []
lock = threading.Lock()
barrier = threading.Barrier(n)


def client():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError as e:
        print("connect failed:", e, file=sys.stderr)
        barrier.abort()
        return
    try:
        barrier.wait(timeout=30)
    except threading.BrokenBarrierError:
        pass
    data = b""
    try:
        while True:
            chunk = s.recv(1024)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        print("recv failed:", e, file=sys.stderr)
    s.close()
    if data == expected:
        with lock:
            ok.append(1)


threads = [threading.Thread(target=client) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("%d of %d got the greeting" % (len(ok), n))
