"""tlogutil: directory transparency checked from the outside, byte for byte
as DESIGN.md "Directory transparency" pins it, in plain Python (hashlib; the
Ed25519 signature with the `cryptography` module, Debian's
python3-cryptography): leaves and inclusion proofs of the bucket tree, the
records and RFC 9162 log of versions, consistency proofs, and an auditor
that rebuilds every bucket from the versions routes."""
import base64
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PublicKey

FP_BYTES = 16
ENTRY_BYTES = 104


def sha256(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def b64d(s):
    return base64.b64decode(s, validate=True)


def node(left, right):
    return sha256(b"\x01", left, right)


def bucket_leaf(epoch, prefix, entries):
    return sha256(b"\x00", b"cds/v1/bucket", struct.pack(">II", epoch, prefix),
                  entries)


def proof_root(k, prefix, leaf, proof):
    """The root an inclusion proof leads to (the sibling at level i is that
    of ancestor prefix >> i)."""
    if len(proof) != 32 * k:
        raise AssertionError("proof of %d bytes for K = %d" % (len(proof), k))
    h = leaf
    for i in range(k):
        sib = proof[32 * i:32 * i + 32]
        h = node(sib, h) if (prefix >> i) & 1 else node(h, sib)
    return h


def tree_root(k, epoch, buckets):
    """Root of the bucket tree over buckets (prefix -> entry bytes)."""
    level = [bucket_leaf(epoch, p, buckets.get(p, b""))
             for p in range(1 << k)]
    while len(level) > 1:
        level = [node(level[i], level[i + 1])
                 for i in range(0, len(level), 2)]
    return level[0]


def record(h):
    return struct.pack(">IQQ", h["epoch"], h["version"], h["time_ms"]) + \
        b64d(h["root"])


def log_leaf(h):
    return sha256(b"\x00", record(h))


def mth(leaves):
    """RFC 9162 2.1.1 Merkle Tree Hash."""
    n = len(leaves)
    if n == 0:
        return sha256()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def verify_consistency(m, n, first, second, proof):
    """RFC 9162 2.1.4.2: does proof show the log of size n with root second
    extends the one of size m with root first?"""
    if m < 1 or m > n:
        return False
    if m == n:
        return not proof and first == second
    if m & (m - 1) == 0:
        proof = [first] + list(proof)
    if not proof:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first and sr == second and sn == 0


def verify_head(h, public_key):
    """The head's Ed25519 signature under the transparency key."""
    signed = b"cds/v1/head" + record(h) + b64d(h["log_root"])
    Ed25519PublicKey.from_public_bytes(public_key).verify(
        b64d(h["signature"]), signed)


def version_changes(get, v, count=None):
    """Every change of version v, paging with `from` and `next`; returns
    (version document without changes, [changes...], pages)."""
    changes, pages, frm = [], 0, 0
    while True:
        q = "/v1/transparency/versions/%d?from=%d" % (v, frm)
        if count:
            q += "&count=%d" % count
        st, _, doc = get(q)
        if st != 200:
            raise AssertionError("versions/%d: %d %r" % (v, st, doc))
        pages += 1
        changes += doc.pop("changes")
        if "next" not in doc:
            return doc, changes, pages
        if doc["next"] <= frm:
            raise AssertionError("next %d does not advance" % doc["next"])
        frm = doc.pop("next")


def apply_changes(buckets, changes):
    """Apply one version's changes to buckets (prefix -> {fp: entry})."""
    for ch in changes:
        b = buckets.setdefault(ch["prefix"], {})
        for fp in ch["removed"]:
            del b[b64d(fp)]
        for e in ch["added"]:
            e = b64d(e)
            b[e[:FP_BYTES]] = e


def bucket_bytes(b):
    return b"".join(b[fp] for fp in sorted(b))
