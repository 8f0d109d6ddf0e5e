# meshspec testbed prober: reads [[id, proto, src, dst, port], ...] as JSON on stdin, runs
# every probe at once with a timeout, prints the JSON list of the ids that got an answer.
# tcp: the connection is accepted; udp: the listener echoes the token; icmp: an echo reply.
import asyncio
import concurrent.futures
import json
import socket
import struct
import sys
import time

T = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET


async def tcp(src, dst, port):
    s = socket.socket(fam(dst), socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        if src:
            s.bind((src, 0))
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, (dst, port)), T)
        return True
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        s.close()


async def udp(src, dst, port, token):
    s = socket.socket(fam(dst), socket.SOCK_DGRAM)
    s.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        if src:
            s.bind((src, 0))
        s.sendto(token, (dst, port))
        end = loop.time() + T
        while True:
            left = end - loop.time()
            if left <= 0:
                return False
            data = await asyncio.wait_for(loop.sock_recv(s, 2048), left)
            if data == token:
                return True
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


def icmp(src, dst, ident):
    v6 = ":" in dst
    s = socket.socket(fam(dst), socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    try:
        if src:
            s.bind((src, 0))
        typ = 128 if v6 else 8
        body = struct.pack("!BBHHH", typ, 0, 0, ident, 1) + b"meshspec"
        if not v6:
            body = struct.pack("!BBHHH", typ, 0, checksum(body), ident, 1) + b"meshspec"
        s.sendto(body, (dst, 0))
        end = time.monotonic() + T
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            s.settimeout(left)
            data, _ = s.recvfrom(2048)
            if not v6:
                data = data[(data[0] & 0xF) * 4:]
            if len(data) >= 8:
                t, _, _, i, _ = struct.unpack("!BBHHH", data[:8])
                if t == (129 if v6 else 0) and i == ident:
                    return True
    except OSError:
        return False
    finally:
        s.close()


async def main():
    probes = json.load(sys.stdin)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(256, len(probes))))
    loop = asyncio.get_running_loop()

    # at most 64 probes in flight per prober: thousands at once (a 50-node cluster) overrun the
    # veths' backlogs and lose packets the probes then wait for
    gate = asyncio.Semaphore(64)

    async def one(p):
        async with gate:
            return await probe(p)

    async def probe(p):
        pid, proto, src, dst, port = p
        if proto == "tcp":
            ok = await tcp(src, dst, port)
        elif proto == "udp":
            ok = await udp(src, dst, port, b"meshspec-%d" % pid)
        else:
            ok = await loop.run_in_executor(pool, icmp, src, dst, (pid % 65535) + 1)
        return pid if ok else None

    done = await asyncio.gather(*(one(p) for p in probes))
    print(json.dumps([d for d in done if d is not None]))


asyncio.run(main())
