# meshspec testbed agent: one process per run, started in the run's switch namespace, that
# probes from any of the run's namespaces without a process per namespace: each socket is made
# inside the namespace it belongs to (setns(2) on the calling thread, then back), so a probe
# round costs no interpreter start.
#
# stdin: one JSON request a line, {"id": N, "op": OP, ...}; each runs on a thread of its own.
# stdout: one JSON answer a line, {"id": N, "ok": RESULT} or {"id": N, "err": MESSAGE}.
# argv[1] == "1": print every command it runs on stderr (`--verbose`).
#
# ops:
#   probe  {timeout, probes: [[id, ns, proto, src, dst, port], ...]}: every probe at once; the
#          ids that got an answer (tcp: accepted; udp: the listener echoed the token; icmp: an
#          echo reply)
#   pmtu   {ns, entries: [[family, dst, start], ...]}: per entry the path MTU found by DF pings
#          from ns (null when nothing answers)
#   mtu    {ns, entries: [[family, dst, size, tcp_port or 0], ...]}: per entry the MTU proof's
#          result (see `mtu_probe`)
#   sink   {ns, port}: a TCP receiver in ns (counts the bytes until EOF, answers the count)
#   unsink {}: closes every receiver
#   frags  {ns}: FragCreates + Ip6FragCreates of ns
#   listen {ns: [names], tcp: [ports], udp: [ports]}: in every ns, a listener on every port
#          (both families; TCP accepted and closed, UDP echoed), served by one thread
#   unlisten {}: closes every listener (their ports are free once it answers)
# A ping result is ["pass"], ["refused", mtu or null, message] or ["silent"] (no answer, no
# error: a black hole).
import asyncio
import ctypes
import json
import os
import re
import selectors
import socket
import struct
import subprocess
import sys
import threading

VERBOSE = len(sys.argv) > 1 and sys.argv[1] == "1"
CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)
HOME = os.open("/proc/self/ns/net", os.O_RDONLY)
NS_FDS = {}
NS_LOCK = threading.Lock()
OUT_LOCK = threading.Lock()


def ns_fd(ns):
    with NS_LOCK:
        fd = NS_FDS.get(ns)
        if fd is None:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", ns):
                raise OSError("not a namespace name: %r" % ns)
            fd = os.open("/run/netns/" + ns, os.O_RDONLY)
            NS_FDS[ns] = fd
        return fd


def setns(fd):
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def sock_in(ns, family, kind, proto=0):
    """A socket of namespace `ns` (made there; this thread comes back home at once)."""
    setns(ns_fd(ns))
    try:
        return socket.socket(family, kind, proto)
    finally:
        setns(HOME)


def trace(args):
    if VERBOSE:
        print("+ " + " ".join(a if re.fullmatch(r"[A-Za-z0-9_./:=,@%+-]+", a) else "'%s'" % a
                              for a in args), file=sys.stderr, flush=True)


def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET


# ---- probes -------------------------------------------------------------------------------

async def tcp(ns, src, dst, port, t):
    s = sock_in(ns, fam(dst), socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        if src:
            s.bind((src, 0))
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, (dst, port)), t)
        return True
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        s.close()


async def recv_until(s, t, match):
    loop = asyncio.get_running_loop()
    end = loop.time() + t
    while True:
        left = end - loop.time()
        if left <= 0:
            return False
        data = await asyncio.wait_for(loop.sock_recv(s, 2048), left)
        if match(data):
            return True


async def udp(ns, src, dst, port, token, t):
    s = sock_in(ns, fam(dst), socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        if src:
            s.bind((src, 0))
        s.sendto(token, (dst, port))
        return await recv_until(s, t, lambda d: d == token)
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        s.close()


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


async def icmp(ns, src, dst, ident, t):
    v6 = ":" in dst
    s = sock_in(ns, fam(dst), socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    s.setblocking(False)
    try:
        if src:
            s.bind((src, 0))
        typ = 128 if v6 else 8
        body = struct.pack("!BBHHH", typ, 0, 0, ident, 1) + b"meshspec"
        if not v6:
            body = struct.pack("!BBHHH", typ, 0, checksum(body), ident, 1) + b"meshspec"
        s.sendto(body, (dst, 0))

        def reply(data):
            if not v6:
                data = data[(data[0] & 0xF) * 4:]
            if len(data) < 8:
                return False
            ty, _, _, i, _ = struct.unpack("!BBHHH", data[:8])
            return ty == (129 if v6 else 0) and i == ident

        return await recv_until(s, t, reply)
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        s.close()


async def probe_all(probes, t):
    # at most 64 probes in flight per source namespace: thousands at once (a 50-node cluster)
    # overrun the veths' backlogs and lose packets the probes then wait for
    gates = {}

    async def one(p):
        pid, ns, proto, src, dst, port = p
        gate = gates.setdefault(ns, asyncio.Semaphore(64))
        async with gate:
            if proto == "tcp":
                ok = await tcp(ns, src, dst, port, t)
            elif proto == "udp":
                ok = await udp(ns, src, dst, port, b"meshspec-%d" % pid, t)
            else:
                ok = await icmp(ns, src, dst, (pid % 65535) + 1, t)
        return pid if ok else None

    done = await asyncio.gather(*(one(p) for p in probes))
    return [d for d in done if d is not None]


# ---- the MTU proof ------------------------------------------------------------------------

WAIT = "2"
TCP_BYTES = 1 << 20
TCP_TIMEOUT = 15.0


def ping(ns, family, dst, size, df=True):
    header = 28 if family == 4 else 48
    args = ["ip", "netns", "exec", ns, "ping", "-%d" % family, "-n", "-c", "1", "-i", "0.05", "-W", WAIT]
    if df:
        args += ["-M", "do"]
    args += ["-s", str(max(size - header, 0)), dst]
    trace(args)
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
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


def tcp_send(ns, family, dst, port):
    try:
        s = sock_in(ns, socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_STREAM)
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


def mtu_one(ns, family, dst, size, port):
    r = {"small": ping(ns, family, dst, 84, df=False)[0] == "pass"}
    if not r["small"]:
        r["small"] = ping(ns, family, dst, 84, df=False)[0] == "pass"
    r["at"] = ping(ns, family, dst, size)
    r["over"] = ping(ns, family, dst, size + 1)
    measured = None
    if r["at"][0] == "pass":
        measured = size + 1 if r["over"][0] == "pass" else size
    elif r["at"][0] == "refused" and r["at"][1] and r["at"][1] < size:
        if ping(ns, family, dst, r["at"][1])[0] == "pass":
            measured = r["at"][1]
    r["measured"] = measured
    r["tcp"] = tcp_send(ns, family, dst, port) if port and r["small"] else None
    return r


def mtu_probe(ns, entries):
    """Every destination at once (one thread each); the results in the entries' order."""
    out = [None] * len(entries)

    def run(i, e):
        try:
            out[i] = mtu_one(ns, *e)
        except Exception as x:  # one destination's failure is its result, not the request's
            out[i] = {"small": False, "at": ["silent"], "over": ["silent"], "measured": None,
                      "tcp": str(x)}

    threads = [threading.Thread(target=run, args=(i, e)) for i, e in enumerate(entries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def pmtu(ns, family, dst, start):
    size = start
    for _ in range(6):
        r = ping(ns, family, dst, size)
        if r[0] == "pass":
            return size
        if r[0] == "refused" and r[1] and r[1] < size:
            size = r[1]
            continue
        return None
    return None


SINKS = []


def sink(ns, port):
    s = sock_in(ns, socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(64)
    SINKS.append(s)

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

    def accept():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return True


def unsink():
    while SINKS:
        s = SINKS.pop()
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
    return True


def frags(ns):
    setns(ns_fd(ns))
    try:
        snmp = open("/proc/thread-self/net/snmp").read()
        snmp6 = open("/proc/thread-self/net/snmp6").read()
    finally:
        setns(HOME)
    total = 0
    header = None
    for line in snmp.splitlines():
        if line.startswith("Ip: "):
            if header is None:
                header = line.split()[1:]
            else:
                v = line.split()[1:]
                if "FragCreates" in header:
                    total += int(v[header.index("FragCreates")])
    for line in snmp6.splitlines():
        if line.startswith("Ip6FragCreates"):
            total += int(line.split()[1])
    return total


# ---- the listeners ------------------------------------------------------------------------

LISTEN_SEL = selectors.DefaultSelector()
LISTEN_LOCK = threading.Lock()
LISTENERS = []


def serve_listeners():
    while True:
        events = LISTEN_SEL.select(0.5)
        with LISTEN_LOCK:
            for key, _ in events:
                s = key.fileobj
                if s.fileno() < 0:
                    continue
                try:
                    if key.data == socket.SOCK_STREAM:
                        c, _ = s.accept()
                        c.close()
                    else:
                        data, addr = s.recvfrom(2048)
                        s.sendto(data, addr)
                except OSError:
                    pass


def listen(namespaces, tcp_ports, udp_ports):
    made = []
    try:
        for ns in namespaces:
            for kind, ports in ((socket.SOCK_STREAM, tcp_ports), (socket.SOCK_DGRAM, udp_ports)):
                for port in ports:
                    s = sock_in(ns, socket.AF_INET6, kind)
                    made.append(s)
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("::", int(port)))
                    if kind == socket.SOCK_STREAM:
                        s.listen(256)
                    s.setblocking(False)
    except OSError:
        for s in made:
            s.close()
        raise
    with LISTEN_LOCK:
        for s in made:
            LISTEN_SEL.register(s, selectors.EVENT_READ, s.type)
            LISTENERS.append(s)
    return len(made)


def unlisten():
    with LISTEN_LOCK:
        while LISTENERS:
            s = LISTENERS.pop()
            LISTEN_SEL.unregister(s)
            s.close()
    return True


threading.Thread(target=serve_listeners, daemon=True).start()


# ---- the loop -----------------------------------------------------------------------------

def handle(req):
    op = req["op"]
    if op == "probe":
        return asyncio.run(probe_all(req["probes"], float(req["timeout"])))
    if op == "pmtu":
        return [pmtu(req["ns"], f, d, s) for f, d, s in req["entries"]]
    if op == "mtu":
        return mtu_probe(req["ns"], req["entries"])
    if op == "sink":
        return sink(req["ns"], int(req["port"]))
    if op == "unsink":
        return unsink()
    if op == "listen":
        return listen(req["ns"], req["tcp"], req["udp"])
    if op == "unlisten":
        return unlisten()
    if op == "frags":
        return frags(req["ns"])
    raise ValueError("unknown op %r" % op)


def answer(req):
    try:
        msg = {"id": req.get("id"), "ok": handle(req)}
    except Exception as e:  # the caller gets every failure as a message
        msg = {"id": req.get("id"), "err": "%s: %s" % (e.__class__.__name__, e)}
    line = json.dumps(msg)
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


print(json.dumps({"id": None, "ok": "ready"}), flush=True)
for raw in sys.stdin:
    if raw.strip():
        threading.Thread(target=answer, args=(json.loads(raw),), daemon=True).start()
