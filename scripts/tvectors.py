#!/usr/bin/env python3
"""tvectors.py: directory transparency's worked example (docs/protocol.md).

Computes, from DESIGN.md "Directory transparency" alone and not from cds's
C code, three versions of a K = 2 directory over the four entries of
tests/data/vectors/cds-v1.json (epoch 3): the bucket trees, inclusion
proofs, log records, log roots, signed heads and the JSON of the
transparency routes.  Every number in docs/protocol.md's example comes from
here, so an independent implementation can check itself against it.

    python3 scripts/tvectors.py            the example, as the doc shows it
    python3 scripts/tvectors.py --json     the same values as JSON
    python3 scripts/tvectors.py --check docs/protocol.md
                                           exit 1 unless every value printed
                                           appears in that file

The hashing and the checks (leaves, nodes, inclusion proofs, MTH, RFC
9162 consistency verification) are tests/integration/tlogutil.py's, the
integration tests' outside view of the same bytes; this script adds what
makes an example: whole trees, proofs, consistency proofs and signatures.
Ed25519 and XChaCha20-Poly1305 come from libsodium (through ctypes: the
library cds itself uses; Ed25519 signatures are deterministic, so the
output is the same on every machine).

The history:
  version 1  epoch 3's first version: every entry added;
  version 2  tel:+919876543210 removed (bucket 2 becomes empty);
  version 3  mailto:alice@example.org's identity key changed (bucket 1: its
             fingerprint removed and a new entry with that fingerprint added).
"""
import argparse
import base64
import ctypes
import ctypes.util
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "tests", "data", "vectors", "cds-v1.json")
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from tlogutil import (bucket_leaf, mth, node, proof_root, sha256,  # noqa: E402
                      verify_consistency)

K = 2
TKEY_SEED = bytes(range(32))              # the example's transparency key
TIME0_MS = 1796040000000                  # 2026-11-30T12:00:00Z
NEW_IDENTITY_KEY = bytes([0x77]) * 32     # alice's key in version 3
NEW_NONCE = bytes([0x99]) * 24            # its entry's nonce (random in cds)


def b64(b):
    return base64.b64encode(b).decode()


class Sodium:
    """The three libsodium calls the example needs."""

    def __init__(self):
        name = ctypes.util.find_library("sodium")
        if not name:
            sys.exit("tvectors.py: libsodium not found (apt-get install libsodium23)")
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0:
            sys.exit("tvectors.py: sodium_init failed")

    def sign_keypair(self, seed):
        pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
        self.lib.crypto_sign_seed_keypair(pk, sk, seed)
        return pk.raw, sk.raw

    def sign(self, sk, msg):
        sig = ctypes.create_string_buffer(64)
        self.lib.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk)
        return sig.raw

    def seal(self, key, nonce, ad, plaintext):
        out = ctypes.create_string_buffer(len(plaintext) + 16)
        self.lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
            out, None, plaintext, ctypes.c_ulonglong(len(plaintext)),
            ad, ctypes.c_ulonglong(len(ad)), None, nonce, key)
        return out.raw


# --- DESIGN.md's pinned bytes --------------------------------------------

def bucket_of(handle, k):
    d = int.from_bytes(sha256(b"cds/v1/bucket", handle.encode())[:4], "big")
    return d >> (32 - k) if k else 0


def leaf(epoch, p, entries):
    return bucket_leaf(epoch, p, b"".join(entries))


def tree(epoch, buckets, k):
    """Heap of 2^(k+1) hashes: 1 is the root, bucket p's leaf is 2^k + p."""
    h = [None] * (2 << k)
    for p in range(1 << k):
        h[(1 << k) + p] = leaf(epoch, p, buckets.get(p, []))
    for i in range((1 << k) - 1, 0, -1):
        h[i] = node(h[2 * i], h[2 * i + 1])
    return h


def proof(h, p, k):
    """The sibling at level i (0 = leaves) is that of ancestor p >> i."""
    i = (1 << k) + p
    out = []
    for _ in range(k):
        out.append(h[i ^ 1])
        i >>= 1
    return out


def record(epoch, v, time_ms, root):
    return struct.pack(">IQQ", epoch, v, time_ms) + root


def signed_bytes(epoch, v, time_ms, root, log_root):
    return b"cds/v1/head" + record(epoch, v, time_ms, root) + log_root


# --- RFC 9162 section 2.1.4.1 -----------------------------------------------

def split(n):
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def subproof(m, leaves, whole):
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], whole) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency(m, leaves):
    return subproof(m, leaves, True)


# --- the example ------------------------------------------------------------

def load_entries(path):
    with open(path) as f:
        vec = json.load(f)
    epoch = vec["epoch"]
    ents = []
    for h in vec["handles"]:
        ents.append({"handle": h["handle"], "entry": bytes.fromhex(h["entry"]),
                     "label_key": bytes.fromhex(h["label_key"]),
                     "account_id": bytes.fromhex(h["account_id"]),
                     "bucket8": h["bucket_bits8"]})
    return epoch, ents


def build(sodium):
    epoch, ents = load_entries(VECTORS)
    by = {e["handle"]: e for e in ents}
    for e in ents:
        assert bucket_of(e["handle"], 8) == e["bucket8"], e["handle"]
        e["bucket"] = bucket_of(e["handle"], K)
    alice = by["mailto:alice@example.org"]
    ad = b"cds/v1/label" + struct.pack(">I", epoch)
    alice_new = (alice["entry"][:16] + NEW_NONCE +
                 sodium.seal(alice["label_key"], NEW_NONCE, ad,
                             alice["account_id"] + NEW_IDENTITY_KEY))

    # Each version: (time, {prefix: (removed fps, added entries)}).
    def add_all():
        ch = {}
        for e in sorted(ents, key=lambda e: e["entry"][:16]):
            ch.setdefault(e["bucket"], ([], []))[1].append(e["entry"])
        return ch
    gone = by["tel:+919876543210"]
    history = [
        (TIME0_MS, add_all()),
        (TIME0_MS + 1000, {gone["bucket"]: ([gone["entry"][:16]], [])}),
        (TIME0_MS + 2000, {alice["bucket"]: ([alice["entry"][:16]], [alice_new])}),
    ]

    pk, sk = sodium.sign_keypair(TKEY_SEED)
    buckets, log_leaves, versions = {}, [], []
    for v, (time_ms, changes) in enumerate(history, start=1):
        for p, (removed, added) in changes.items():
            kept = [x for x in buckets.get(p, []) if x[:16] not in removed]
            buckets[p] = sorted(kept + added, key=lambda x: x[:16])
        h = tree(epoch, buckets, K)
        root = h[1]
        rec = record(epoch, v, time_ms, root)
        log_leaves.append(sha256(b"\x00", rec))
        log_root = mth(log_leaves)
        sb = signed_bytes(epoch, v, time_ms, root, log_root)
        sig = sodium.sign(sk, sb)
        proofs = {p: proof(h, p, K) for p in range(1 << K)}
        for p in range(1 << K):
            assert proof_root(K, p, h[(1 << K) + p], b"".join(proofs[p])) == root
        versions.append({
            "version": v, "time_ms": time_ms, "changes": changes,
            "buckets": {p: list(x) for p, x in buckets.items()},
            "leaves": h[1 << K:], "nodes": h[2:1 << K], "root": root,
            "proofs": proofs, "record": rec, "log_leaf": log_leaves[-1],
            "log_root": log_root, "signed": sb, "signature": sig,
        })
    cons = consistency(1, log_leaves)
    assert verify_consistency(1, 3, versions[0]["log_root"],
                              versions[2]["log_root"], cons)
    k0 = leaf(epoch, 0, sorted((e["entry"] for e in ents), key=lambda x: x[:16]))
    return {"epoch": epoch, "pk": pk, "entries": ents, "versions": versions,
            "consistency_1_3": cons, "k0_root": k0}


def head_json(ex, v):
    x = ex["versions"][v - 1]
    return {"epoch": ex["epoch"], "version": v, "time_ms": x["time_ms"],
            "root": b64(x["root"]), "log_root": b64(x["log_root"]),
            "signature": b64(x["signature"])}


def version_json(ex, v):
    x = ex["versions"][v - 1]
    return {"epoch": ex["epoch"], "version": v, "time_ms": x["time_ms"],
            "root": b64(x["root"]),
            "changes": [{"prefix": p, "removed": [b64(f) for f in r],
                         "added": [b64(e) for e in a]}
                        for p, (r, a) in sorted(x["changes"].items())]}


def history_json(ex, p, since):
    out = []
    for x in ex["versions"][since:]:
        if p in x["changes"]:
            r, a = x["changes"][p]
            out.append({"version": x["version"], "removed": [b64(f) for f in r],
                        "added": [b64(e) for e in a]})
    return {"epoch": ex["epoch"], "prefix": p, "versions": out}


def bucket_json(ex, p, v):
    x = ex["versions"][v - 1]
    return {"epoch": ex["epoch"], "prefix": p,
            "entries": b64(b"".join(x["buckets"].get(p, []))),
            "version": v, "proof": b64(b"".join(x["proofs"][p]))}


def as_json(ex):
    def ver(x):
        return {"version": x["version"],
                "leaves": [y.hex() for y in x["leaves"]],
                "nodes": [y.hex() for y in x["nodes"]],
                "root": x["root"].hex(),
                "proofs": {str(p): b"".join(s).hex() for p, s in x["proofs"].items()},
                "record": x["record"].hex(), "log_leaf": x["log_leaf"].hex(),
                "log_root": x["log_root"].hex(), "signed_bytes": x["signed"].hex(),
                "signature": x["signature"].hex(),
                "head": head_json(ex, x["version"]),
                "versions_answer": version_json(ex, x["version"])}
    return {
        "_about": "scripts/tvectors.py: directory transparency, K = 2, epoch 3, "
                  "the entries of cds-v1.json; transparency key seed 00..1f",
        "prefix_bits": K, "epoch": ex["epoch"],
        "transparency_seed": TKEY_SEED.hex(), "transparency_key": ex["pk"].hex(),
        "versions": [ver(x) for x in ex["versions"]],
        "consistency_1_3": [c.hex() for c in ex["consistency_1_3"]],
        "history_bucket1_since1": history_json(ex, 1, 1),
        "bucket2_at_v1": bucket_json(ex, 2, 1),
        "k0_root": ex["k0_root"].hex(),
    }


def wrap(hexstr, width=64):
    return [hexstr[i:i + width] for i in range(0, len(hexstr), width)]


def text(ex):
    out = []
    w = out.append
    w("transparency key: seed %s" % TKEY_SEED.hex())
    w("  public key (transparency_key) %s" % b64(ex["pk"]))
    w("  = %s" % ex["pk"].hex())
    w("entries (cds-v1.json, epoch %d), bucket at K = %d:" % (ex["epoch"], K))
    for e in sorted(ex["entries"], key=lambda e: e["entry"][:16]):
        w("  fp %s  bucket %d  %s" % (e["entry"][:16].hex(), e["bucket"], e["handle"]))
    for x in ex["versions"]:
        v = x["version"]
        w("")
        w("version %d  time_ms %d" % (v, x["time_ms"]))
        for p, (r, a) in sorted(x["changes"].items()):
            w("  change bucket %d: removed %s added %s" % (
                p, [f.hex() for f in r] or "none",
                [e[:16].hex() + "..." for e in a] or "none"))
        for p, lf in enumerate(x["leaves"]):
            n = len(x["buckets"].get(p, []))
            w("  leaf(%d) %s  (%d entr%s)" % (p, lf.hex(), n, "y" if n == 1 else "ies"))
        w("  node(0..1) %s" % x["nodes"][0].hex())
        w("  node(2..3) %s" % x["nodes"][1].hex())
        w("  root       %s" % x["root"].hex())
        for p, s in x["proofs"].items():
            w("  proof(%d)   %s" % (p, " ".join(y.hex() for y in s)))
        w("  record     %s" % x["record"].hex())
        w("  log leaf   %s" % x["log_leaf"].hex())
        w("  log_root   %s" % x["log_root"].hex())
        w("  signed bytes:")
        out.extend("    " + line for line in wrap(x["signed"].hex()))
        w("  signature:")
        out.extend("    " + line for line in wrap(x["signature"].hex()))
        w("  head " + json.dumps(head_json(ex, v), separators=(",", ":")))
    w("")
    w("consistency from=1 to=3: " + " ".join(c.hex() for c in ex["consistency_1_3"]))
    w("  " + json.dumps({"from": 1, "to": 3,
                         "proof": [b64(c) for c in ex["consistency_1_3"]]},
                        separators=(",", ":")))
    w("versions/2: " + json.dumps(version_json(ex, 2), separators=(",", ":")))
    w("versions/3: " + json.dumps(version_json(ex, 3), separators=(",", ":")))
    w("buckets/1/history?epoch=3&since=1: " +
      json.dumps(history_json(ex, 1, 1), separators=(",", ":")))
    w("GET /v1/buckets/2?epoch=3 at version 1: " +
      json.dumps(bucket_json(ex, 2, 1), separators=(",", ":")))
    w("")
    w("K = 0, the same four entries: root = leaf(0) = %s" % ex["k0_root"].hex())
    return "\n".join(out) + "\n"


def check(ex, path):
    """Every hex value and every JSON answer printed must be in path."""
    with open(path) as f:
        doc = f.read()
    flat = "".join(doc.split())
    missing = []
    for line in text(ex).splitlines():
        for tok in line.replace("{", " ").replace(",", " ").split():
            tok = tok.strip('"[]()')
            if len(tok) >= 32 and tok not in flat:
                missing.append(tok)
    for x in ex["versions"]:
        for s in (x["signed"].hex(), x["signature"].hex()):
            if s not in flat:
                missing.append(s)
    for m in missing:
        print("tvectors.py: not in %s: %s" % (path, m), file=sys.stderr)
    return 1 if missing else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--check", metavar="FILE",
                    help="exit 1 unless FILE holds every value")
    a = ap.parse_args()
    ex = build(Sodium())
    if a.check:
        return check(ex, a.check)
    if a.json:
        print(json.dumps(as_json(ex), indent=1))
    else:
        sys.stdout.write(text(ex))
    return 0


if __name__ == "__main__":
    sys.exit(main())
