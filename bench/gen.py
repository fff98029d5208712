#!/usr/bin/env python3
"""Generates benchmark data for N filed domains (deterministic per seed).

Writes into OUTDIR:
  records-a.json, records-b.json  provider-shaped records (a bare JSON array):
                                  the N base domains plus one canary domain
                                  that is only in that variant
  map-a.conf, map-b.conf          the same lists as an nginx `map` include
                                  (".domain 1;", hostnames form: the domain
                                  and its subdomains, as the gate allows)
  canary-a, canary-b              the canary domain of each variant
  hosts-fixed.txt                 one filed domain
  hosts-filed.txt                 random filed domains (exact)
  hosts-sub.txt                   random subdomains of filed domains
  hosts-unfiled.txt               random domains that are not filed
  icp.tsv                         the first 2000 domains and their ICP numbers
  meta.json                       N, seed, domain lengths, TLD mix, examples

Names look like what gets filed in China: pinyin syllables, short English
words, digits, the odd hyphen, spread over .com .cn .com.cn .net .org and a
few newer TLDs; label lengths of typical registrations.  Every record is
FILED, ACCESSED and bound to the instance, with a valid ICP number.
"""

import argparse
import json
import os
import random
import sys

SYLLABLES = (
    "a ai an ang ao ba bai ban bang bao bei ben bi bian biao bin bo bu cai "
    "can cao ce chang chao chen cheng chi chu chuan chuang chun ci cong cui "
    "da dai dan dang dao de deng di dian ding dong dou du duan dui duo e en "
    "er fa fan fang fei fen feng fu gai gan gang gao ge gong gou gu guan "
    "guang gui guo hai han hang hao he hei heng hong hou hu hua huai huan "
    "huang hui huo ji jia jian jiang jiao jie jin jing jiu ju juan jun ka "
    "kai kang ke kong kou kuai kuan kun la lai lan lang lao le lei li lian "
    "liang lin ling liu long lu lv luo ma mai man mao mei men meng mi mian "
    "miao min ming mo mu na nan neng ni nian ning niu nong nuo ou pai pan "
    "pei peng pin ping pu qi qian qiang qiao qin qing qiu qu quan que ran "
    "ren rong rui run sai san sen sha shan shang shao she shen sheng shi "
    "shou shu shuang shui shun si song su sui sun ta tai tan tang tao teng "
    "tian tiao ting tong tou tu tuan wan wang wei wen wo wu xi xia xian "
    "xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye "
    "yi yin ying yong you yu yuan yue yun zai zan zao ze zeng zhan zhang "
    "zhao zhe zhen zheng zhi zhong zhou zhu zhuan zhuang zhuo zi zong zou "
    "zu zuan zui zun zuo").split()

WORDS = (
    "app auto bay best big bio biz blue box buy car chain city click cloud "
    "club code data deal design dev digital doc easy eco edu energy fast "
    "film fin fit food fresh fun game go green group guide health home hub "
    "info ink it job kid lab land law learn life link live logic mall map "
    "market media med mind mobile net news note one open pay pet photo "
    "plus pro quick read run safe school science shop smart soft space star "
    "store study sun tech top tour trade travel tv union up vision wave web "
    "wiki win work world yes zone").split()

ABBREV = ("bj sh sz gz hz cd wh xa nj cq tj sy dl qd xm fz cs zz hf km nn "
          "cn zg hx zx jx gd js zj sd hn hb").split()

# (tld, weight): roughly the mix of filed sites
TLDS = [("com", 42), ("cn", 18), ("com.cn", 10), ("net", 9), ("org", 4),
        ("top", 5), ("net.cn", 2), ("org.cn", 1), ("cc", 2), ("vip", 2),
        ("xyz", 2), ("shop", 1), ("info", 1), ("site", 1)]

PROVINCES = ("京 津 冀 晋 蒙 辽 吉 黑 沪 苏 浙 皖 闽 赣 鲁 豫 鄂 湘 粤 桂 琼 渝 "
             "蜀 黔 滇 藏 陕 陇 青 宁 新").split()

SUB_PREFIXES = ("www m api img static cdn mail blog shop admin h5 wap news "
                "app docs file pay").split()

INSTANCE = "lhins-bench001"


class Names:
    def __init__(self, rnd):
        self.r = rnd
        tl, tw = zip(*TLDS)
        self.tlds, self.tw = tl, tw

    def label(self):
        r = self.r
        k = r.random()
        if k < 0.55:
            parts = [r.choice(SYLLABLES) for _ in range(r.choice((2, 2, 3, 3, 4)))]
        elif k < 0.80:
            parts = [r.choice(SYLLABLES), r.choice(WORDS)]
            r.shuffle(parts)
        elif k < 0.92:
            parts = [r.choice(ABBREV), r.choice(SYLLABLES + WORDS)]
        else:
            parts = [r.choice(WORDS), r.choice(WORDS), r.choice(SYLLABLES)]
        if r.random() < 0.04:
            s = "-".join(parts)
        else:
            s = "".join(parts)
        x = r.random()
        if x < 0.10:
            s += str(r.choice((1, 2, 3, 5, 6, 8, 9, 51, 66, 88, 99, 360, 365,
                               520, 666, 888, 2008, 2018)))
        elif x < 0.13:
            s = str(r.randint(1, 999)) + s
        return s[:40].strip("-")

    def domain(self):
        tld = self.r.choices(self.tlds, self.tw)[0]
        return self.label() + "." + tld


def icp_number(rnd, website_no):
    p = rnd.choice(PROVINCES)
    digits = 8 if rnd.random() < 0.9 else 10
    num = str(rnd.randint(10 ** (digits - 1), 10 ** digits - 1))
    return "%sICP备%s号-%d" % (p, num, website_no)


def record(domain, icp, wid, updated, other):
    inst = [INSTANCE] if other is None else [other, INSTANCE]
    return ('{"Domain":%s,"IcpNumber":%s,"WebsiteId":"%s","FilingStatus":'
            '"FILED","AccessStatus":"ACCESSED","InstanceIds":%s,'
            '"UpdatedAt":"%s"}' % (json.dumps(domain), json.dumps(icp,
            ensure_ascii=False), wid, json.dumps(inst), updated))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--sample", type=int, default=100000,
                    help="hosts per host list (default 100000)")
    a = ap.parse_args()

    rnd = random.Random(a.seed * 1000003 + a.n)
    names = Names(rnd)
    os.makedirs(a.outdir, exist_ok=True)

    seen = set()
    domains = []
    while len(domains) < a.n:
        d = names.domain()
        if len(d) > 63 or d in seen:
            continue
        seen.add(d)
        domains.append(d)

    # canaries: only in one variant each, never in the host lists
    canary = {}
    for v in ("a", "b"):
        while True:
            d = "canary%s-%s.com" % (v, names.label())
            if d not in seen:
                seen.add(d)
                canary[v] = d
                break

    # records: websites of 1-3 domains, 1-5 websites per subject
    recs = []
    icp_of = {}
    i = 0
    wid_no = 0
    while i < len(domains):
        subject_sites = rnd.randint(1, 5)
        base = icp_number(rnd, 1)
        stem = base[:base.rindex("-")]
        for site in range(1, subject_sites + 1):
            if i >= len(domains):
                break
            icp = "%s-%d" % (stem, site)
            wid_no += 1
            wid = "web-%08x" % (rnd.getrandbits(32) ^ wid_no)
            updated = "20%02d-%02d-%02dT%02d:%02d:%02d+08:00" % (
                rnd.randint(19, 25), rnd.randint(1, 12), rnd.randint(1, 28),
                rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59))
            other = None
            if rnd.random() < 0.05:
                other = "lhins-%08x" % rnd.getrandbits(32)
            for _ in range(rnd.choices((1, 2, 3), (70, 20, 10))[0]):
                if i >= len(domains):
                    break
                recs.append(record(domains[i], icp, wid, updated, other))
                icp_of[domains[i]] = icp
                i += 1

    body = ",\n".join(recs)
    for v in ("a", "b"):
        extra = record(canary[v], "京ICP备10000001号-1", "web-canary" + v,
                       "2025-01-01T00:00:00+08:00", None)
        with open(os.path.join(a.outdir, "records-%s.json" % v), "w",
                  encoding="utf-8") as f:
            f.write("[\n")
            f.write(body)
            f.write(",\n" if recs else "")
            f.write(extra)
            f.write("\n]\n")
        with open(os.path.join(a.outdir, "map-%s.conf" % v), "w") as f:
            f.write("".join(".%s 1;\n" % d for d in domains))
            f.write(".%s 1;\n" % canary[v])
        with open(os.path.join(a.outdir, "canary-%s" % v), "w") as f:
            f.write(canary[v] + "\n")
    del body, recs

    k = a.sample

    def write(name, hosts):
        with open(os.path.join(a.outdir, name), "w") as f:
            f.write("".join(h + "\n" for h in hosts))

    write("hosts-fixed.txt", [domains[rnd.randrange(len(domains))]])
    write("hosts-filed.txt", [domains[rnd.randrange(len(domains))]
                              for _ in range(k)])
    subs = []
    for _ in range(k):
        d = domains[rnd.randrange(len(domains))]
        p = rnd.choice(SUB_PREFIXES) if rnd.random() < 0.6 else names.label()
        if rnd.random() < 0.2:
            p = rnd.choice(SUB_PREFIXES) + "." + p
        subs.append(p + "." + d)
    write("hosts-sub.txt", subs)
    unf = []
    while len(unf) < k:
        d = names.domain()
        if d in seen:
            continue
        unf.append(("www." + d) if rnd.random() < 0.5 else d)
    write("hosts-unfiled.txt", unf)

    with open(os.path.join(a.outdir, "icp.tsv"), "w",
              encoding="utf-8") as f:
        # a small sample for checkers: domain <TAB> icp
        for d in domains[:min(len(domains), 2000)]:
            f.write("%s\t%s\n" % (d, icp_of[d]))

    lens = [len(d) for d in domains]
    tl = {}
    for d in domains:
        t = d.split(".", 1)[1]
        tl[t] = tl.get(t, 0) + 1
    meta = {"n": a.n, "seed": a.seed, "instance": INSTANCE,
            "avg_domain_len": sum(lens) / max(1, len(lens)),
            "max_domain_len": max(lens) if lens else 0,
            "tlds": dict(sorted(tl.items(), key=lambda x: -x[1])),
            "examples": domains[:8]}
    with open(os.path.join(a.outdir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
