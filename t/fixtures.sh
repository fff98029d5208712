#!/bin/sh
# Builds the snapshots the t/ suites use into $1 (world-readable: the nginx
# workers under test run as an unprivileged user).  Good ones come from
# t/data/*.json through beian-sync itself; broken ones are made from them.
set -eu
out=$1
tool=${BEIAN_SYNC:-build/beian-sync}
mkdir -p "$out"
chmod 755 "$out"

for f in t/data/*.json; do
    n=$(basename "$f" .json)
    "$tool" build --quiet --records "$f" --instance-id lhins-test0001 \
        --source "t/data/$n.json" --out "$out/$n.mdb"
done

: > "$out/zero.mdb"
head -c 65536 /dev/urandom > "$out/random.mdb"
size=$(stat -c %s "$out/main.mdb")
head -c $((size / 2)) "$out/main.mdb" > "$out/truncated.mdb"

# valid LMDB, wrong contents: a future schema, then no meta at all
cp "$out/main.mdb" "$out/schema99.mdb"
printf 'schema_version\n99\n' | mdb_load -T -n -s meta "$out/schema99.mdb"
printf 'example.com\nx\n' | mdb_load -T -n -s domains "$out/nometa.mdb"

# a value far longer than any record (meta count kept consistent), and a
# meta that claims a huge number of domains
cp "$out/main.mdb" "$out/overlong.mdb"
printf 'overlong.cn\n%s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" \
    | mdb_load -T -n -s domains "$out/overlong.mdb"
printf 'record_count\n4\n' | mdb_load -T -n -s meta "$out/overlong.mdb"
cp "$out/main.mdb" "$out/hugecount.mdb"
printf 'record_count\n4294967296000\n' | mdb_load -T -n -s meta "$out/hugecount.mdb"
rm -f "$out"/*-lock
chmod 644 "$out"/*.mdb

# one self-signed certificate for the TLS servers under test
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/tls.key" -out "$out/tls.crt" -subj /CN=beian-test \
    -days 3650 2>/dev/null
chmod 644 "$out/tls.key" "$out/tls.crt"

# big: 4000 filed domains (d0.big.cn ... d3999.big.cn), about 0.5 MB, so
# that a smaller file written over it in place leaves most of the old
# mapping beyond the new end
awk 'BEGIN {
    printf "{\"Response\": {\"TotalCount\": 4000, \"RequestId\": \"t-big\", \"DomainSet\": [\n"
    for (i = 0; i < 4000; i++)
        printf "%s{\"Domain\": \"d%d.big.cn\", \"IcpNumber\": \"京ICP备%08d号-1\", " \
               "\"WebsiteId\": \"web-%d\", \"FilingStatus\": \"FILED\", " \
               "\"AccessStatus\": \"ACCESSED\", \"InstanceIds\": [\"lhins-test0001\"], " \
               "\"UpdatedAt\": \"2026-10-01T08:00:00Z\"}\n", (i ? "," : ""), i, 10000000 + i, i
    printf "]}}\n"
}' > "$out/big.json"
"$tool" build --quiet --records "$out/big.json" --instance-id lhins-test0001 \
    --source big.json --out "$out/big.mdb"
rm -f "$out/big.json" "$out"/*-lock
chmod 644 "$out"/*.mdb
