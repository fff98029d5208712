"""
An independent reader of the snapshot format, written from
docs/snapshot-format.md alone (it uses none of the C code), run against
files beian-sync writes: meta, records, digest and the hash-v2 index must
be exactly what the specification says.

LMDB's own mdb_dump (lmdb-utils) extracts the databases; everything after
that is this file's.
"""

import hashlib
import json
import os
import struct
import subprocess
import tempfile
import unittest

from support import BEIAN_SYNC

M64 = (1 << 64) - 1
INSTANCE = "lhins-spec0001"


def key_hash(seed, key):
    """docs/snapshot-format.md 4.2"""
    n = len(key)
    h = seed ^ ((n * 0x9e3779b97f4a7c15) & M64)
    i = 0
    while n - i >= 8:
        w = int.from_bytes(key[i:i + 8], "little")
        h = ((h ^ w) * 0xbf58476d1ce4e5b9) & M64
        h ^= h >> 31
        i += 8
    w = int.from_bytes(key[i:], "little")
    h = ((h ^ w) * 0x94d049bb133111eb) & M64
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & M64
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M64
    h ^= h >> 33
    return h


def scale(x, n):
    return (x * n) >> 32


def dump(path, db):
    """{key: value} of one named database, through mdb_dump."""
    out = subprocess.run(["mdb_dump", "-n", "-s", db, path], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    data = out[out.index("HEADER=END") + 1:out.index("DATA=END")]
    return {bytes.fromhex(data[i].strip()): bytes.fromhex(data[i + 1].strip())
            for i in range(0, len(data), 2)}


def record(v):
    """A version-1 record: (icp, website id), or None if corrupt."""
    if len(v) < 3 or v[0] != 1 or 2 + v[1] + 1 > len(v):
        return None
    i = v[1]
    w = v[2 + i]
    if 3 + i + w != len(v):
        return None
    return v[2:2 + i].decode(), v[3 + i:3 + i + w].decode()


class Index:
    """docs/snapshot-format.md 4.1 to 4.7"""

    def __init__(self, value, count):
        (self.magic, self.seed, self.count, self.blocks, self.homes,
         self.lines, self.long_len, self.recs_len, zero) = \
            struct.unpack_from("<QQQIIIIII", value, 0)
        assert self.magic == 0x3278696e61696562
        assert value[:8] == b"beianix2"
        assert self.count == count
        assert self.blocks == count * 10 // 512 + 1
        assert self.homes > 0 and self.homes <= self.lines <= self.homes + 255
        assert zero == 0 and self.recs_len >= 1 + 3 * count
        assert 48 + (self.blocks + self.lines) * 64 + self.long_len \
            + self.recs_len == len(value)
        self.filter = value[48:48 + self.blocks * 64]
        off = 48 + self.blocks * 64
        self.line = [value[off + 64 * j:off + 64 * (j + 1)]
                     for j in range(self.lines)]
        off += self.lines * 64
        self.long = value[off:off + self.long_len]
        self.recs = value[off + self.long_len:]
        assert self.recs[0] == 0

    def entries(self, j):
        """(key, record offset) of every entry of line j."""
        line, p = self.line[j], 1
        while p < 64 and line[p] != 0:
            if line[p] == 0xff:
                n, koff, roff = struct.unpack_from("<BII", line, p + 1)
                assert 59 <= n <= 253
                yield self.long[koff:koff + n], roff
                p += 10
            else:
                n = line[p]
                assert 1 <= n <= 58 and p + 5 + n <= 64
                yield line[p + 1:p + 1 + n], \
                    struct.unpack_from("<I", line, p + 1 + n)[0]
                p += 5 + n

    def in_filter(self, h):
        block = self.filter[64 * scale(h >> 32, self.blocks):][:64]
        g = (h * 0x9e3779b97f4a7c15) & M64
        bits = [(g >> (55 - 9 * i)) & 511 for i in range(6)]
        return all(block[b >> 3] & (1 << (b & 7)) for b in bits)

    def get(self, key):
        """The record of key, or None: the lookup of 4.7."""
        h = key_hash(self.seed, key)
        if not self.in_filter(h):
            return None
        home = scale(h & 0xffffffff, self.homes)
        for j in range(home, home + self.line[home][0] + 1):
            for k, roff in self.entries(j):
                if k == key:
                    r = self.recs[roff:]
                    return record(r[:3 + r[1] + r[2 + r[1]]])
        return None


def write_records(path, domains):
    recs = [{"Domain": d, "IcpNumber": "京ICP备%08d号-%d" % (i + 1, i % 9 + 1),
             "WebsiteId": "web-%04d" % i, "FilingStatus": "FILED",
             "AccessStatus": "ACCESSED", "InstanceIds": [INSTANCE],
             "UpdatedAt": "2026-01-01T00:00:00+08:00"}
            for i, d in enumerate(domains)]
    with open(path, "w") as f:
        json.dump(recs, f, ensure_ascii=False)


class FormatSpec(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.snap = os.path.join(self.dir.name, "snapshot.mdb")

    def tearDown(self):
        self.dir.cleanup()

    def build(self, domains):
        src = os.path.join(self.dir.name, "records.json")
        write_records(src, domains)
        subprocess.run([BEIAN_SYNC, "build", "--records", src,
                        "--instance-id", INSTANCE, "--out", self.snap,
                        "--quiet"], check=True)

    def test_hash_test_vectors(self):
        # the vectors docs/snapshot-format.md 4.2 gives
        self.assertEqual(key_hash(0, b"example.com"), 0xdee32ee9a2021b16)
        self.assertEqual(key_hash(0, b"a.example.com"), 0x6f6ac76a27239239)

    def test_meta_records_digest_and_index(self):
        long_label = "l" * 60
        domains = ["example.com", "a-b.example.net", long_label + ".example.cn",
                   "x" * 63 + "." + "y" * 63 + "." + "z" * 63 + ".com"] \
            + ["site%d.example.org" % i for i in range(300)]
        self.build(domains)

        meta = {k.decode(): v.decode() for k, v in dump(self.snap,
                                                        "meta").items()}
        self.assertEqual(set(meta), {"schema_version", "generated_at",
                                     "record_count", "instance_id",
                                     "source", "digest"})
        self.assertEqual(meta["schema_version"], "1")
        self.assertEqual(meta["instance_id"], INSTANCE)
        self.assertEqual(int(meta["record_count"]), len(domains))

        recs = dump(self.snap, "domains")
        self.assertEqual(sorted(recs), sorted(d.encode() for d in domains))

        index = dump(self.snap, "index")
        self.assertEqual(list(index), [b"hash-v2"])

        # the digest, from the records and the index (section 2)
        d = hashlib.sha256(INSTANCE.encode() + b"\0")
        for k in sorted(recs):
            icp, wid = record(recs[k])
            d.update(k + b"\0" + icp.encode() + b"\0" + wid.encode() + b"\0")
        v = index[b"hash-v2"]
        d.update(b"hash-v2\0" + struct.pack("=Q", len(v)) + v)
        self.assertEqual(meta["digest"], "sha256:" + d.hexdigest())
        ix = Index(index[b"hash-v2"], len(domains))

        # every domain through the index gives its record ...
        for k, v in recs.items():
            self.assertEqual(ix.get(k), record(v), k)
        # ... and names that are not there are absent
        for k in (b"example.co", b"www.example.com", b"com", b"xample.com",
                  long_label.encode() + b".example.c"):
            self.assertIsNone(ix.get(k), k)

        # every entry sits within its home's spill, long keys outside lines
        seen = 0
        for j in range(ix.lines):
            for k, _ in ix.entries(j):
                home = scale(key_hash(ix.seed, k) & 0xffffffff, ix.homes)
                self.assertTrue(home <= j <= home + ix.line[home][0])
                seen += 1
        self.assertEqual(seen, len(domains))
        self.assertEqual(ix.long_len, sum(len(k) for k in recs if len(k) > 58))


if __name__ == "__main__":
    unittest.main()
