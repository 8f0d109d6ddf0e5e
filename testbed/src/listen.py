# meshspec testbed listener: accepts TCP and echoes UDP on the given ports, both families.
# argv: comma-separated TCP ports, comma-separated UDP ports. Prints "ready" once bound.
import selectors
import socket
import sys

sel = selectors.DefaultSelector()


def listen(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(256)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, kind)


for p in sys.argv[1].split(","):
    if p:
        listen(socket.SOCK_STREAM, int(p))
for p in sys.argv[2].split(","):
    if p:
        listen(socket.SOCK_DGRAM, int(p))
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == socket.SOCK_STREAM:
                c, _ = s.accept()
                c.close()
            else:
                data, addr = s.recvfrom(2048)
                s.sendto(data, addr)
        except OSError:
            pass
