# meshspec testbed MTU prober (runs inside a pod's or a node's namespace).
#   sink PORT              accept TCP, count the bytes until EOF, answer the count; prints "ready"
#   probe                  stdin: JSON list of [family, dst, size, tcp_port or 0]; stdout: JSON
#                          list of results, one per entry, in order
#   pmtu                   stdin: JSON list of [family, dst, start]; stdout: the path MTU found
#                          by DF pings (or null when nothing answers)
# A ping result is ["pass"], ["refused", mtu or null, message] or ["silent"] (no answer, no
# error: a black hole).
import json
import re
import socket
import subprocess
import sys
import threading

WAIT = "2"
TCP_BYTES = 1 << 20
TCP_TIMEOUT = 15.0


def ping(family, dst, size, df=True):
    header = 28 if family == 4 else 48
    args = ["ping", "-%d" % family, "-n", "-c", "1", "-i", "0.05", "-W", WAIT]
    if df:
        args += ["-M", "do"]
    args += ["-s", str(max(size - header, 0)), dst]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout
    if p.returncode == 0:
        return ["pass"]
    m = re.search(r"mtu ?[=:] ?(\d+)", out, re.IGNORECASE)
    if m or "message too long" in out or "Frag needed" in out or "Packet too big" in out:
        line = next(
            (l.strip() for l in out.splitlines()
             if "mtu" in l.lower() or "too long" in l or "too big" in l.lower()),
            out.strip(),
        )
        return ["refused", int(m.group(1)) if m else None, line]
    if "+1 errors" in out:
        return ["refused", None, out.strip().splitlines()[-2] if out.strip() else ""]
    return ["silent"]


def tcp(family, dst, port):
    fam = socket.AF_INET if family == 4 else socket.AF_INET6
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(TCP_TIMEOUT)
        s.connect((dst, port))
        chunk = b"m" * 65536
        for _ in range(TCP_BYTES // len(chunk)):
            s.sendall(chunk)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(64)
            if not b:
                break
            got += b
        s.close()
        n = int(got.decode() or "0")
        return None if n == TCP_BYTES else "the receiver counted %d of %d bytes" % (n, TCP_BYTES)
    except (OSError, ValueError) as e:
        return "%s after %.0fs" % (e.__class__.__name__, TCP_TIMEOUT) if isinstance(e, socket.timeout) else str(e)


def probe(entries):
    out = []
    for family, dst, size, port in entries:
        r = {"small": ping(family, dst, 84, df=False)[0] == "pass"}
        if not r["small"]:
            r["small"] = ping(family, dst, 84, df=False)[0] == "pass"
        r["at"] = ping(family, dst, size)
        r["over"] = ping(family, dst, size + 1)
        measured = None
        if r["at"][0] == "pass":
            measured = size + 1 if r["over"][0] == "pass" else size
        elif r["at"][0] == "refused" and r["at"][1] and r["at"][1] < size:
            if ping(family, dst, r["at"][1])[0] == "pass":
                measured = r["at"][1]
        r["measured"] = measured
        r["tcp"] = tcp(family, dst, port) if port and r["small"] else None
        out.append(r)
    return out


def pmtu(family, dst, start):
    size = start
    for _ in range(6):
        r = ping(family, dst, size)
        if r[0] == "pass":
            return size
        if r[0] == "refused" and r[1] and r[1] < size:
            size = r[1]
            continue
        return None
    return None


def sink(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(64)
    print("ready", flush=True)

    def serve(c):
        n = 0
        try:
            c.settimeout(TCP_TIMEOUT)
            while True:
                b = c.recv(65536)
                if not b:
                    break
                n += len(b)
            c.sendall(str(n).encode())
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if sys.argv[1] == "sink":
    sink(int(sys.argv[2]))
elif sys.argv[1] == "probe":
    print(json.dumps(probe(json.load(sys.stdin))))
else:
    print(json.dumps([pmtu(f, d, s) for f, d, s in json.load(sys.stdin)]))
