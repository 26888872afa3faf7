#!/usr/bin/env python3
"""Checks a scopewatch evidence bundle's ledger without scopewatch.

    python3 verify_ledger.py [BUNDLE_DIRECTORY]   (default: this file's directory)

From ledger/entries.jsonl, ledger/proofs/inclusion.jsonl and the signed
checkpoint texts ledger/checkpoints/NNNNNN.txt it recomputes every leaf hash
(SHA-256 of a zero byte and the line), the `prev` link of every entry to the
one before it, that the entries run without a gap up to the last one the
newest checkpoint signed, every inclusion proof against that checkpoint's
root (RFC 6962 / RFC 9162 2.1.3.2) and, when the entries start at 0, the
Merkle root of every checkpoint. Every problem is printed with the ledger
sequence number it concerns; the exit status is 1 if there is any, else 0.

It does not check signatures (the standard library has no Ed25519): check
the checkpoint texts with openssl as README.txt shows. Standard library
only, Python 3.6 or later.
"""
import hashlib, json, os, sys

ZERO = "0" * 64


def leaf_hash(line):
    return hashlib.sha256(b"\x00" + line).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def included(index, size, hashed, path, root):
    """RFC 9162 2.1.3.2: whether `path` leads from leaf `index` to `root`."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, hashed
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def add_leaf(edge, hashed):
    """Grows a tree kept as its right edge: (height, hash) of complete subtrees."""
    height = 0
    while edge and edge[-1][0] == height:
        hashed, height = node_hash(edge.pop()[1], hashed), height + 1
    edge.append((height, hashed))


def edge_root(edge):
    """The RFC 6962 root of a non-empty tree from its right edge."""
    r = edge[-1][1]
    for _, hashed in reversed(edge[:-1]):
        r = node_hash(hashed, r)
    return r


def read_checkpoints(directory, problem):
    """{tree_size: (name, root)} from the signed checkpoint texts."""
    checkpoints = {}
    folder = os.path.join(directory, "ledger", "checkpoints")
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    for name in (n[:-4] for n in names if n.endswith(".txt")):
        with open(os.path.join(folder, name + ".txt"), "rb") as file:
            lines = file.read().decode("utf-8", "replace").split("\n")
        fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        try:
            size, root = int(fields["tree_size"]), bytes.fromhex(fields["root"])
            if lines[0] != "scopewatch checkpoint v1" or len(root) != 32:
                raise ValueError
        except (KeyError, ValueError):
            problem(None, "ledger/checkpoints/%s.txt is not a checkpoint text" % name)
            continue
        if checkpoints.get(size, (name, root))[1] != root:
            problem(None, "two checkpoints sign %d entries with different roots: %s and %s"
                    % (size, checkpoints[size][0], name))
        checkpoints[size] = (name, root)
    return checkpoints


def read_jsonl(directory, name, problem):
    """(line number, raw line, parsed JSON) for each line of a bundle file."""
    try:
        with open(os.path.join(directory, name), "rb") as file:
            data = file.read()
    except OSError as error:
        problem(None, "%s cannot be read: %s" % (name, error))
        return []
    lines, rows = data.split(b"\n"), []
    for number, line in enumerate(lines[:-1] if lines[-1] == b"" else lines, 1):
        try:
            value = json.loads(line.decode("utf-8"))
            if not isinstance(value, dict) or type(value.get("seq")) is not int:
                raise ValueError
        except ValueError:
            problem(None, "%s line %d is not a ledger line with a seq" % (name, number))
            continue
        rows.append((number, line, value))
    return rows


def check(directory):
    problems = []

    def problem(seq, text):
        problems.append((seq, text))
    checkpoints = read_checkpoints(directory, problem)
    if not checkpoints:
        problem(None, "no checkpoint in ledger/checkpoints: nothing signs the ledger")
        return problems, None
    size = max(checkpoints)
    newest, root = checkpoints[size]
    leaves, hashes, previous = {}, {}, None
    for number, line, leaf in read_jsonl(directory, "ledger/entries.jsonl", problem):
        seq = leaf["seq"]
        if seq in leaves:
            problem(seq, "appears twice in ledger/entries.jsonl (line %d again)" % number)
            continue
        if previous is not None and seq < previous:
            problem(seq, "is out of order: line %d, after entry %d; ledger lines were moved" % (number, previous))
        if not 0 <= seq < size:
            problem(seq, "is not among the %d entries checkpoint %s signed" % (size, newest))
        previous = seq
        leaves[seq], hashes[seq] = leaf, leaf_hash(line)
    first = min(leaves) if leaves else size
    gap = None
    for seq in list(range(first, size)) + [None]:
        if seq is not None and seq not in leaves:
            gap = gap or [seq, seq]
            gap[1] = seq
        elif gap:
            span = "is" if gap[0] == gap[1] else "to %d are" % gap[1]
            problem(gap[0], "%s missing: the ledger lines were deleted (entries %d to %d must run without a gap)"
                    % (span, first, size - 1))
            gap = None
    for seq in sorted(leaves):
        expected = hashes[seq - 1].hex() if seq - 1 in hashes else ZERO if seq == 0 else None
        if expected is not None and leaves[seq].get("prev") != expected:
            problem(seq, "its prev is not the hash of entry %d: one of the two was altered or replaced" % (seq - 1))
    proofs = {}
    for _, _, proof in read_jsonl(directory, "ledger/proofs/inclusion.jsonl", problem):
        proofs[proof["seq"]] = proof
    for seq in sorted(set(leaves) | set(proofs)):
        proof = proofs.get(seq)
        if seq not in leaves:
            problem(seq, "has an inclusion proof but no line in ledger/entries.jsonl: its line was deleted")
        elif proof is None:
            problem(seq, "has no inclusion proof in ledger/proofs/inclusion.jsonl")
        elif proof.get("leaf_hash") != hashes[seq].hex():
            problem(seq, "its line does not hash to the leaf_hash of its proof: the entry was altered")
        else:
            try:
                path = [bytes.fromhex(node) for node in proof["path"]]
                ok = proof["tree_size"] == size and included(seq, size, hashes[seq], path, root)
            except (KeyError, TypeError, ValueError):
                ok = False
            if not ok:
                problem(seq, "its audit path does not lead to the root checkpoint %s signed: the entry was"
                        " altered or is not in the signed log" % newest)
    if first == 0 and leaves and len(leaves) == size:
        edge = []
        for seq in range(size):
            add_leaf(edge, hashes[seq])
            if seq + 1 in checkpoints and edge_root(edge) != checkpoints[seq + 1][1]:
                problem(seq, "entries 0 to %d do not hash to the root checkpoint %s signed: the ledger was"
                        " rewritten" % (seq, checkpoints[seq + 1][0]))
    return problems, (first, size, newest, root, len(leaves))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    directory = sys.argv[1] if len(sys.argv) > 1 else here
    problems, summary = check(directory)
    for seq, text in sorted(problems, key=lambda p: (p[0] is not None, p[0] or 0)):
        print(("ledger entry %d: %s" % (seq, text)) if seq is not None else text)
    if problems:
        print("%d problem%s" % (len(problems), "s" if len(problems) > 1 else ""))
        return 1
    first, size, newest, root, count = summary
    if count == 0:
        print("no ledger entries in this bundle; checkpoint %s signs %d entries" % (newest, size))
    else:
        print("ledger verified: entries %d to %d (%d), their leaf hashes, prev links and inclusion proofs,"
              " against checkpoint %s (tree size %d, root %s)" % (first, size - 1, count, newest, size, root.hex()))
        if first == 0:
            print("and the Merkle root of every checkpoint recomputed from the entries")
    print("signatures are not checked here: see README.txt for openssl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
