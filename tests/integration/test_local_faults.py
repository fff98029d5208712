"""Local faults while publishing a snapshot (no network involved).

Disk full, a read-only output directory, the output on another filesystem
than $TMPDIR, SIGKILL at random points of a run, a lock left by a killed
run, and two runs at once.  After each, the snapshot in place is the old
one byte for byte (or, when the kill came after the rename, a complete new
one), and an nginx reading it through beian_snapshot_check keeps serving.

Mount-based cases need root (tmpfs); they are skipped otherwise.
"""

import hashlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from support import (BEIAN_MODULE as MODULE, BEIAN_SYNC as SYNC, INSTANCE,
                     NGINX_BIN as NGINX, free_port)
# the hash index's hash and filter patterns as the format's independent
# reader computes them (docs/snapshot-format.md 4.2, 4.4): to forge an entry
from test_format_spec import key_hash, pattern as filter_pattern

IS_ROOT = os.geteuid() == 0


def records(n, seed=1, always=("always.example.com",)):
    """n bound, filed, accessed records with random-looking names."""
    rnd = random.Random(seed)
    out = []
    for name in always:
        out.append(name)
    while len(out) < n:
        label = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                        for _ in range(rnd.randint(5, 14)))
        out.append("%s.%s" % (label, rnd.choice(["com", "cn", "net", "com.cn", "org"])))
    return [{"Domain": d, "IcpNumber": "京ICP备%08d号-%d" % (10000000 + i, 1 + i % 9),
             "WebsiteId": "web-%d" % (i % 5), "FilingStatus": "FILED",
             "AccessStatus": "ACCESSED", "InstanceIds": [INSTANCE],
             "UpdatedAt": "2026-11-01T00:00:00Z"} for i, d in enumerate(out)]


def write_records(path, recs):
    with open(path, "w") as f:
        json.dump(recs, f)


def build_argv(records_path, out, *extra):
    return [SYNC, "build", "--quiet", "--records", records_path,
            "--instance-id", INSTANCE, "--out", out] + list(extra)


def build(records_path, out, *extra, **kw):
    return subprocess.run(build_argv(records_path, out, *extra),
                          capture_output=True, text=True, **kw)


def tool(*args):
    """beian-sync ARGS (info, check), output captured as text."""
    return subprocess.run([SYNC] + list(args), capture_output=True, text=True)


def snapshot_state(path):
    st = os.stat(path)
    with open(path, "rb") as f:
        return (st.st_ino, st.st_size, f.read())


def leftovers(directory):
    return [n for n in os.listdir(directory) if ".tmp." in n]


def forge_index_entry(path):
    """Adds to the hash-v3 index of the snapshot at path, in place, a slot
    for a name no record has, made of bytes the key area already holds: the
    last label of one key and the whole of the next (keys lie back to back),
    e.g. "com" + "x7h2k.net".  It points at the first record.  Only bytes of
    the index value change, LMDB stays valid.  Returns the name forged."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    at = data.find(b"beianix3")
    assert at > 0 and data.find(b"beianix3", at + 1) == -1, "one index"
    seed, count, words, homes, buckets, keys_len = \
        struct.unpack_from("<QQIIII", data, at + 8)
    filt = at + 48
    bucket0 = filt + words * 8
    keys = bucket0 + buckets * 64
    names = []
    for j in range(buckets):
        b = bucket0 + 64 * j
        for i in range(4):
            n = data[b + 48 + i]
            if n:
                koff = struct.unpack_from("<I", data, b + 16 + 4 * i)[0]
                names.append((koff, n))
    names.sort()
    for (k1, n1), (k2, n2) in zip(names, names[1:]):
        assert k1 + n1 == k2, "keys back to back"
        tld = data[keys + k1:keys + k1 + n1].rsplit(b".", 1)[1]
        koff = k2 - len(tld)
        key = bytes(data[keys + koff:keys + k2 + n2])
        h = key_hash(seed, key)
        home = bucket0 + 64 * ((((h >> 32) * homes) >> 32))
        free = [i for i in range(4) if data[home + 48 + i] == 0]
        if not free:
            continue
        i = free[0]
        struct.pack_into("<I", data, home + 4 * i, h & 0xffffffff)
        struct.pack_into("<I", data, home + 16 + 4 * i, koff)
        struct.pack_into("<I", data, home + 32 + 4 * i, 1)
        data[home + 48 + i] = len(key)
        word = filt + 8 * ((((h & 0xffffffff) * words) >> 32))
        w = struct.unpack_from("<Q", data, word)[0] | filter_pattern(h >> 54)
        struct.pack_into("<Q", data, word, w)
        with open(path, "r+b") as f:
            f.write(data)
        return key.decode()
    raise AssertionError("no home bucket with room")


def small_state(path):
    """snapshot_state() with a digest of the bytes: short in a failure."""
    ino, size, data = snapshot_state(path)
    return (ino, size, hashlib.sha256(data).hexdigest())


def nobody():
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


class Tmpfs:
    """A small tmpfs, mounted for one test."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix="beian-fs.")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=755" % size,
                        "tmpfs", self.dir], check=True)

    def remount_ro(self):
        subprocess.run(["mount", "-o", "remount,ro", self.dir], check=True)

    def close(self):
        subprocess.run(["umount", "-l", self.dir], check=False)
        os.rmdir(self.dir)


class LocalFaults(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="beian-faults.")
        os.chmod(self.tmp, 0o755)
        self.small = os.path.join(self.tmp, "small.json")
        self.big = os.path.join(self.tmp, "big.json")
        write_records(self.small, records(3))
        write_records(self.big, records(20000, seed=2))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    @unittest.skipUnless(IS_ROOT, "tmpfs needs root")
    def test_disk_full(self):
        fs = Tmpfs("256k")
        self.addCleanup(fs.close)
        out = os.path.join(fs.dir, "snapshot.mdb")
        self.assertEqual(build(self.small, out).returncode, 0)
        before = snapshot_state(out)

        r = build(self.big, out, "--force")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertRegex(r.stderr, r"(No space left on device|MDB_MAP_FULL|space)")
        self.assertEqual(snapshot_state(out), before)
        self.assertEqual(leftovers(fs.dir), [])

        # and the old one still answers
        r = tool("check", "--snapshot", out, "www.always.example.com")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    @unittest.skipUnless(IS_ROOT, "tmpfs needs root")
    def test_read_only_directory(self):
        fs = Tmpfs("1m")
        self.addCleanup(fs.close)
        out = os.path.join(fs.dir, "snapshot.mdb")
        self.assertEqual(build(self.small, out).returncode, 0)
        before = snapshot_state(out)
        fs.remount_ro()

        r = build(self.big, out, "--force")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("Read-only file system", r.stderr)
        self.assertEqual(snapshot_state(out), before)

    @unittest.skipUnless(IS_ROOT, "tmpfs needs root")
    def test_output_on_another_filesystem(self):
        # the temp file lives next to the target, never in $TMPDIR, so the
        # rename is atomic wherever the snapshot is
        fs = Tmpfs("16m")
        self.addCleanup(fs.close)
        out = os.path.join(fs.dir, "snapshot.mdb")
        env = dict(os.environ, TMPDIR="/nonexistent-tmpdir")
        r = build(self.big, out, env=env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(os.stat(out).st_dev, os.stat(self.tmp).st_dev)
        self.assertEqual(leftovers(fs.dir), [])

    def test_lock_of_a_killed_run_is_recovered(self):
        out = os.path.join(self.tmp, "snapshot.mdb")
        self.assertEqual(build(self.small, out).returncode, 0)
        p = subprocess.Popen(build_argv(self.big, out, "--force"))
        time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.assertTrue(os.path.exists(out + ".lock"))
        r = build(self.big, out, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(leftovers(self.tmp), [])

    def test_two_runs_at_once(self):
        out = os.path.join(self.tmp, "snapshot.mdb")
        self.assertEqual(build(self.small, out).returncode, 0)
        procs = [subprocess.Popen(build_argv(self.big, out, "--force"),
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        codes = sorted(rc for rc, _ in results)
        # one wins; the other either finds it locked (3, a safety guard) or,
        # having started after the winner finished, sees unchanged content
        self.assertIn(codes, ([0, 0], [0, 3]), results)
        for rc, err in results:
            if rc == 3:
                self.assertIn("locked", err)
        r = tool("info", "--snapshot", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("digest_verified: yes", r.stdout)

    def test_info_finds_a_flipped_byte_in_either_copy(self):
        # A record is stored twice: in the tree (what the digest covers) and
        # in the hash index (what nginx reads).  A byte flipped in a record
        # keeps the file well-formed; info must catch it in either copy.
        out = os.path.join(self.tmp, "snapshot.mdb")
        self.assertEqual(build(self.small, out).returncode, 0)
        r = tool("info", "--snapshot", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("index_verified: yes", r.stdout)

        with open(out, "rb") as f:
            data = f.read()
        icp = "京ICP备%08d号-%d" % (10000001, 2)
        needle = icp.encode()
        at = [i for i in range(len(data)) if data.startswith(needle, i)]
        self.assertEqual(len(at), 2, "the ICP number of record 1 in tree and index")
        seen = set()
        for pos in at:
            bad = bytearray(data)
            bad[pos + len(needle) - 3] ^= 0x01          # a digit of the number
            path = os.path.join(self.tmp, "flipped-%d.mdb" % pos)
            with open(path, "wb") as f:
                f.write(bad)
            r = tool("info", "--snapshot", path)
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            if "digest_verified: no" in r.stdout:
                seen.add("tree")
            if "index_verified: no" in r.stdout:
                self.assertIn("has another record for", r.stderr)
                seen.add("index")
        self.assertEqual(seen, {"tree", "index"})


class ForgedIndex(unittest.TestCase):
    """An index entry for an unfiled name, added to a valid snapshot."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="beian-forge.")
        os.chmod(self.tmp, 0o755)
        self.recs = os.path.join(self.tmp, "recs.json")
        write_records(self.recs, records(3))
        self.out = os.path.join(self.tmp, "snapshot.mdb")
        self.assertEqual(build(self.recs, self.out).returncode, 0)
        self.assertEqual(tool("info", "--snapshot", self.out).returncode, 0)
        self.evil = forge_index_entry(self.out)
        # the forgery works: the index answers filed, the tree does not know it
        r = tool("check", "--snapshot", self.out, self.evil)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(self.evil, tool("dump", "--snapshot", self.out).stdout)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_info_names_it(self):
        r = tool("info", "--snapshot", self.out)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("digest_verified: no", r.stdout)
        self.assertIn("index_verified: no", r.stdout)
        self.assertIn('the hash index holds "%s", which the tree does not'
                      % self.evil, r.stderr)

    def test_build_with_the_same_records_rewrites_it(self):
        before = small_state(self.out)
        r = build(self.recs, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(small_state(self.out), before)
        self.assertEqual(tool("info", "--snapshot", self.out).returncode, 0)
        r = tool("check", "--snapshot", self.out, self.evil)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)

    def test_force_always_rewrites(self):
        # even a snapshot that is whole is written again with --force
        clean = os.path.join(self.tmp, "clean.mdb")
        self.assertEqual(build(self.recs, clean).returncode, 0)
        before = small_state(clean)
        r = subprocess.run(build_argv(self.recs, clean, "--force", "--json"),
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(json.loads(r.stdout)["changed"], r.stdout)
        self.assertNotEqual(small_state(clean)[0], before[0])

        self.assertEqual(build(self.recs, self.out, "--force").returncode, 0)
        self.assertEqual(tool("info", "--snapshot", self.out).returncode, 0)
        self.assertEqual(tool("check", "--snapshot", self.out, self.evil).returncode, 3)


@unittest.skipUnless(IS_ROOT, "another user's files need root (chown)")
class UnsafePlace(unittest.TestCase):
    """Where other users could interfere, beian-sync refuses to publish
    (exit 3, a safety guard) and leaves everything as it was."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="beian-place.")
        os.chmod(self.tmp, 0o755)
        self.recs = os.path.join(self.tmp, "recs.json")
        write_records(self.recs, records(3))
        self.dir = os.path.join(self.tmp, "lib")
        os.mkdir(self.dir, 0o755)
        self.out = os.path.join(self.dir, "snapshot.mdb")
        self.lock = self.out + ".lock"

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def refused(self, *extra, pattern):
        r = build(self.recs, self.out, *extra)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertRegex(r.stderr, pattern)
        return r

    def test_symlinked_lock(self):
        victim = os.path.join(self.tmp, "victim")
        os.symlink(victim, self.lock)
        self.refused(pattern=r"lock file .*snapshot\.mdb\.lock is a symbolic link")
        self.assertFalse(os.path.lexists(victim))
        self.assertFalse(os.path.exists(self.out))

    def test_lock_of_another_user(self):
        with open(self.lock, "w"):
            pass
        os.chown(self.lock, *nobody())
        self.refused(pattern=r"lock file .* is owned by uid %d" % nobody()[0])
        self.assertFalse(os.path.exists(self.out))

    def test_lock_made_private(self):
        with open(self.lock, "w"):
            pass
        os.chmod(self.lock, 0o644)
        self.assertEqual(build(self.recs, self.out).returncode, 0)
        self.assertEqual(os.stat(self.lock).st_mode & 0o777, 0o600)

    def test_snapshot_of_another_user(self):
        # another user's file with one more domain than the records
        planted = os.path.join(self.tmp, "planted.json")
        write_records(planted, records(4))
        self.assertEqual(build(planted, self.out).returncode, 0)
        os.chown(self.out, *nobody())
        before = small_state(self.out)
        self.refused(pattern=r"snapshot .*snapshot\.mdb is owned by uid %d"
                     % nobody()[0])
        self.refused("--force", pattern=r"is owned by uid")
        self.assertEqual(small_state(self.out), before)
        self.assertEqual(os.stat(self.out).st_uid, nobody()[0])

    def test_symlinked_snapshot(self):
        target = os.path.join(self.tmp, "elsewhere.mdb")
        self.assertEqual(build(self.recs, target, "--allow-shared-dir").returncode, 0)
        before = small_state(target)
        os.symlink(target, self.out)
        self.refused(pattern=r"snapshot .* is a symbolic link")
        self.assertEqual(small_state(target), before)

    def test_shared_directory(self):
        for mode, what in ((0o775, "group"), (0o757, "world"), (0o1777, "world")):
            os.chmod(self.dir, mode)
            self.refused(pattern=r"snapshot directory .* is %s-writable \(mode %04o\)"
                         % (what, mode))
            self.assertEqual(os.listdir(self.dir), [], "nothing created")

    def test_directory_of_another_user(self):
        os.chown(self.dir, *nobody())
        self.refused(pattern=r"snapshot directory .* is owned by uid %d" % nobody()[0])
        self.assertEqual(os.listdir(self.dir), [])

    def test_override(self):
        os.chmod(self.dir, 0o777)
        r = build(self.recs, self.out, "--allow-shared-dir")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tool("info", "--snapshot", self.out).returncode, 0)
        # the lock and snapshot checks still hold with the override
        os.chown(self.lock, *nobody())
        self.refused("--allow-shared-dir", pattern=r"lock file .* is owned by uid")

    def test_override_in_pull_config(self):
        # the config key is the flag's name; the refusal comes before any
        # credentials or network
        os.chmod(self.dir, 0o777)
        conf = os.path.join(self.tmp, "sync.conf")
        for allow, code in (("false", 3), ("true", None)):
            with open(conf, "w") as f:
                f.write("instance-id = %s\nout = %s\nallow-shared-dir = %s\n"
                        "endpoint = http://127.0.0.1:9/\nretries = 0\n"
                        "secret-id = AKIDx\nsecret-key = k\n" % (INSTANCE, self.out, allow))
            os.chmod(conf, 0o600)
            r = subprocess.run([SYNC, "pull", "--quiet", "--config", conf],
                               capture_output=True, text=True)
            if code == 3:
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn("world-writable", r.stderr)
            else:
                # past the directory check: the provider is unreachable
                self.assertEqual(r.returncode, 2, r.stderr)


@unittest.skipUnless(os.path.exists(MODULE) and os.path.exists(NGINX), "no nginx/module")
class KilledMidWrite(unittest.TestCase):
    """SIGKILL at random points, 50 times, with nginx watching the file."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="beian-kill.")
        os.chmod(self.tmp, 0o755)
        self.out = os.path.join(self.tmp, "snapshot.mdb")
        self.a = os.path.join(self.tmp, "a.json")
        self.b = os.path.join(self.tmp, "b.json")
        write_records(self.a, records(30000, seed=3))
        write_records(self.b, records(30000, seed=4))
        self.assertEqual(build(self.a, self.out).returncode, 0)
        self.port = free_port()
        os.makedirs(os.path.join(self.tmp, "logs"))
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
load_module %(module)s;
worker_processes 2;
pid %(d)s/logs/nginx.pid;
error_log %(d)s/logs/error.log notice;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    beian_snapshot %(out)s;
    beian_snapshot_check 100ms;
    server {
        listen 127.0.0.1:%(port)d;
        beian on;
        location / { return 200 "$beian_status\\n"; }
    }
}
""" % {"module": MODULE, "d": self.tmp, "out": self.out, "port": self.port})
        self.nginx = [NGINX, "-p", self.tmp, "-c", conf, "-e", self.tmp + "/logs/error.log"]
        subprocess.run(self.nginx, check=True)
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port)).close()
                break
            except OSError:
                time.sleep(0.1)

    def tearDown(self):
        subprocess.run(self.nginx + ["-s", "quit"], check=False)
        time.sleep(0.5)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_kill_50_times(self):
        stop = threading.Event()
        bad = []
        served = [0]

        def client():
            while not stop.is_set():
                try:
                    req = urllib.request.Request("http://127.0.0.1:%d/" % self.port,
                                                 headers={"Host": "www.always.example.com"})
                    with urllib.request.urlopen(req, timeout=5) as r:
                        body = r.read()
                    if body != b"filed\n":
                        bad.append(body)
                    served[0] += 1
                except Exception as e:  # any failure is a finding
                    bad.append(repr(e))

        t = threading.Thread(target=client)
        t.start()
        rnd = random.Random(7)
        kinds = {"old": 0, "new": 0}
        try:
            for i in range(50):
                src = self.b if i % 2 == 0 else self.a
                before = snapshot_state(self.out)
                p = subprocess.Popen(build_argv(src, self.out, "--force"),
                                     stderr=subprocess.DEVNULL)
                time.sleep(rnd.uniform(0.0, 0.6))
                p.send_signal(signal.SIGKILL)
                p.wait()
                after = snapshot_state(self.out)
                if after == before:
                    kinds["old"] += 1
                else:
                    kinds["new"] += 1
                    r = tool("info", "--snapshot", self.out)
                    self.assertIn("digest_verified: yes", r.stdout, r.stderr)
                # whatever is in place opens and answers
                r = tool("check", "--snapshot", self.out, "always.example.com")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            time.sleep(0.3)
            stop.set()
            t.join()

        self.assertEqual(bad, [], "requests that failed or were wrong")
        self.assertGreater(served[0], 50)
        # a later complete run cleans whatever the killed runs left behind
        self.assertEqual(build(self.a, self.out, "--force").returncode, 0)
        self.assertEqual(leftovers(self.tmp), [])
        with open(os.path.join(self.tmp, "logs/error.log")) as f:
            log = f.read()
        self.assertNotIn("exited on signal", log)
        print("\nkilled 50 runs: %(old)d left the old snapshot, %(new)d the new one; "
              % kinds + "%d requests served, 0 failed" % served[0])


if __name__ == "__main__":
    unittest.main()
