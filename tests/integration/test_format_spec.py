"""
An independent reader of the snapshot format, written from
docs/snapshot-format.md alone (it uses none of the C code), run against
files beian-sync writes: meta, records, digest and the hash-v3 index must
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


def rotl32(x):
    return ((x << 32) | (x >> 32)) & M64


def chunk(s, w):
    """docs/snapshot-format.md 4.2: one word into the state"""
    return rotl32(((s ^ w) * 0x9e3779b97f4a7c15) & M64)


def fin(s):
    s ^= s >> 32
    s = (s * 0xbf58476d1ce4e5b9) & M64
    return s ^ (s >> 29)


def key_hash(seed, key):
    """docs/snapshot-format.md 4.2"""
    s, n = seed, len(key)
    while n >= 8:
        s = chunk(s, int.from_bytes(key[n - 8:n], "little"))
        n -= 8
    if n:
        s = chunk(s, int.from_bytes(key[:n], "little"))
    return fin(s ^ len(key))


def pattern(i):
    """docs/snapshot-format.md 4.4: filter pattern i"""
    x = fin(((i + 1) * 0x9e3779b97f4a7c15) & M64)
    return sum({1 << ((x >> sh) & 63) for sh in (58, 52, 46, 40)})


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
        (self.magic, self.seed, self.count, self.words, self.homes,
         self.buckets, self.keys_len, self.recs_len, zero) = \
            struct.unpack_from("<QQQIIIIII", value, 0)
        assert self.magic == 0x3378696e61696562
        assert value[:8] == b"beianix3"
        assert self.count == count
        assert self.words == 8 * (count * 12 // 512 + 1)
        assert self.homes == count // 3 + 1
        assert self.homes <= self.buckets <= self.homes + 255
        assert zero == 0 and self.keys_len >= 8
        assert self.recs_len >= 1 + 3 * count
        assert 48 + self.words * 8 + self.buckets * 64 + self.keys_len \
            + self.recs_len == len(value)
        self.filter = struct.unpack_from("<%dQ" % self.words, value, 48)
        off = 48 + self.words * 8
        self.bucket = [value[off + 64 * j:off + 64 * (j + 1)]
                       for j in range(self.buckets)]
        off += self.buckets * 64
        self.keys = value[off:off + self.keys_len]
        self.recs = value[off + self.keys_len:]
        assert self.keys[:8] == bytes(8)
        assert self.recs[0] == 0

    def slots(self, j):
        """(check, key, record offset) of every used slot of bucket j."""
        b = self.bucket[j]
        check = struct.unpack_from("<4I", b, 0)
        koff = struct.unpack_from("<4I", b, 16)
        roff = struct.unpack_from("<4I", b, 32)
        for i in range(4):
            n = b[48 + i]
            if n:
                assert 8 <= koff[i] and koff[i] + n <= self.keys_len
                yield check[i], self.keys[koff[i]:koff[i] + n], roff[i]
        assert b[53:] == bytes(11)

    def spill(self, j):
        return self.bucket[j][52]

    def in_filter(self, h):
        m = pattern(h >> 54)
        return self.filter[scale(h & 0xffffffff, self.words)] & m == m

    def get(self, key):
        """The record of key, or None: the lookup of 4.7."""
        h = key_hash(self.seed, key)
        if not self.in_filter(h):
            return None
        home = scale(h >> 32, self.homes)
        for j in range(home, home + self.spill(home) + 1):
            for check, k, roff in self.slots(j):
                if check == h & 0xffffffff and k == key:
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
        # the vectors docs/snapshot-format.md 4.2 and 4.4 give
        self.assertEqual(key_hash(0, b"example.com"), 0x59410145e998c0d7)
        self.assertEqual(key_hash(0, b"a.example.com"), 0xab5b6a8dd1d3f77b)
        self.assertEqual(key_hash(0, b"abcdefgh"), 0x77299ebc5eeebbc8)
        self.assertEqual(key_hash(0, b"abcdefghijklmnopq"),
                         0xd9292e5855529c4c)
        self.assertEqual(pattern(0), 0x0800040210000000)
        self.assertEqual(pattern(1023), 0x0088080010000000)

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
        self.assertEqual(list(index), [b"hash-v3"])

        # the digest, from the records and the index (section 2)
        d = hashlib.sha256(INSTANCE.encode() + b"\0")
        for k in sorted(recs):
            icp, wid = record(recs[k])
            d.update(k + b"\0" + icp.encode() + b"\0" + wid.encode() + b"\0")
        v = index[b"hash-v3"]
        d.update(b"hash-v3\0" + struct.pack("=Q", len(v)) + v)
        self.assertEqual(meta["digest"], "sha256:" + d.hexdigest())
        ix = Index(index[b"hash-v3"], len(domains))

        # every domain through the index gives its record ...
        for k, v in recs.items():
            self.assertEqual(ix.get(k), record(v), k)
        # ... and names that are not there are absent
        for k in (b"example.co", b"www.example.com", b"com", b"xample.com",
                  b"xexample.com", b"example.com.evil.net",
                  long_label.encode() + b".example.c"):
            self.assertIsNone(ix.get(k), k)

        # every key once, within its home's spill, with its check and its
        # filter bits; keys in key order in the key area
        seen = []
        for j in range(ix.buckets):
            for check, k, _ in ix.slots(j):
                h = key_hash(ix.seed, k)
                home = scale(h >> 32, ix.homes)
                self.assertTrue(home <= j <= home + ix.spill(home))
                self.assertEqual(check, h & 0xffffffff)
                self.assertTrue(ix.in_filter(h))
                seen.append(k)
        self.assertEqual(sorted(seen), sorted(recs))
        self.assertEqual(ix.keys, bytes(8) + b"".join(sorted(recs)))

if __name__ == "__main__":
    unittest.main()
