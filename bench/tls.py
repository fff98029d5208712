"""TLS handshake and stream connection clients for bench.py's "tls"
section: loopback only, bounded in time, one process per client CPU."""

import multiprocessing
import os
import socket
import ssl
import subprocess
import time


def make_cert(work):
    """A self-signed P-256 certificate in work (what the t/ suites use)."""
    crt, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", crt, "-subj", "/CN=bench",
                        "-days", "30"], check=True, capture_output=True,
                       timeout=60)
        os.chmod(key, 0o644)
    return crt, key


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_hello(name):
    """The bytes of a real ClientHello naming name (Python's OpenSSL)."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_context().wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def _handshakes(port, name, seconds, cpu, q):
    """Full handshakes (no session reuse) until seconds pass."""
    os.sched_setaffinity(0, {cpu})
    ctx = client_context()
    done = ok = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = socket.create_connection(("127.0.0.1", port))
        try:
            t = ctx.wrap_socket(s, server_hostname=name)
            ok += 1
            t.close()
        except (ssl.SSLError, OSError):
            s.close()
        done += 1
    q.put((done, ok))


def _streams(port, hello, seconds, cpu, q):
    """Connect, send a ClientHello, read to the end: passed if any reply."""
    os.sched_setaffinity(0, {cpu})
    done = ok = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = socket.create_connection(("127.0.0.1", port))
        try:
            s.sendall(hello)
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            ok += 1 if got else 0
        except OSError:
            pass
        finally:
            s.close()
        done += 1
    q.put((done, ok))


def run(kind, port, name, seconds, cpus):
    """(connections, completed) over seconds from one process per cpu."""
    q = multiprocessing.Queue()
    if kind == "tls":
        target, arg = _handshakes, name
    else:
        target, arg = _streams, client_hello(name)
    ps = [multiprocessing.Process(target=target,
                                  args=(port, arg, seconds, c, q))
          for c in cpus]
    for p in ps:
        p.start()
    res = [q.get(timeout=seconds + 60) for _ in ps]
    for p in ps:
        p.join(timeout=10)
    return sum(r[0] for r in res), sum(r[1] for r in res)
