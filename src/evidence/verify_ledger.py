#!/usr/bin/env python3
"""Checks a scopewatch bundle's ledger without scopewatch: python3 verify_ledger.py [BUNDLE_DIRECTORY]

Recomputes each leaf hash of ledger/entries.jsonl (SHA-256 of 0x00 and the line), each `prev` link, that
the entries run without a gap from the first manifest.json names to the last the newest checkpoint signed,
each inclusion proof against its root (RFC 9162 2.1.3.2), from entry 0 every checkpoint's root, and that
every capture manifest.json's selection includes has its WARC records in archive/: its metadata holds the record
its ledger entry hashed, and is WARC-Concurrent-To exactly the records whose ids derive from that hash. Prints each problem
with its ledger sequence number, exits 1 on any. Checks no signature. Python 3.6+, standard library only."""
import functools, hashlib, json, os, sys, zlib

def leaf_hash(line): return hashlib.sha256(b"\x00" + line).digest()

def node_hash(left, right): return hashlib.sha256(b"\x01" + left + right).digest()

def included(index, size, hashed, path, root):
    """RFC 9162 2.1.3.2: whether `path` leads from leaf `index` to `root`."""
    if index >= size: return False
    fn, sn, r = index, size - 1, hashed
    for p in path:
        if sn == 0: return False
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
    return functools.reduce(lambda r, left: node_hash(left[1], r), reversed(edge[:-1]), edge[-1][1])

def read_checkpoints(directory, problem):
    """{tree_size: (name, root)} from the signed checkpoint texts."""
    checkpoints, folder = {}, os.path.join(directory, "ledger", "checkpoints")
    for name in sorted(n[:-4] for n in (os.listdir(folder) if os.path.isdir(folder) else []) if n.endswith(".txt")):
        lines = (read(folder, name + ".txt", problem) or b"").decode("utf-8", "replace").split("\n")
        fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        try:
            size, root = int(fields["tree_size"]), bytes.fromhex(fields["root"])
            if lines[0] != "scopewatch checkpoint v1" or len(root) != 32: raise ValueError
        except (KeyError, ValueError):
            problem(None, "ledger/checkpoints/%s.txt is not a checkpoint text" % name)
            continue
        if checkpoints.get(size, (name, root))[1] != root:
            problem(None, "two checkpoints sign %d entries with different roots: %s and %s" % (size, checkpoints[size][0], name))
        checkpoints[size] = (name, root)
    return checkpoints

def read(directory, name, problem):
    try:
        with open(os.path.join(directory, name), "rb") as file: return file.read()
    except OSError as error:
        problem(None, "%s cannot be read: %s" % (name, error))

def read_jsonl(directory, name, problem):
    """(line number, raw line, parsed JSON) for each line of a bundle file."""
    data, rows = read(directory, name, problem) or b"", []
    for number, line in enumerate(data[:-1].split(b"\n") if data.endswith(b"\n") else data.split(b"\n") if data else [], 1):
        try:
            value = json.loads(line.decode("utf-8"))
            if not isinstance(value, dict) or type(value.get("seq")) is not int: raise ValueError
        except ValueError:
            problem(None, "%s line %d is not a ledger line with a seq" % (name, number))
            continue
        rows.append((number, line, value))
    return rows

# The most bytes one archive file may decompress to: src/evidence/bundle_file.rs MAX_FILE, so a crafted
# gzip member cannot exhaust memory.
MAX_FILE = 4 << 30

def gunzip(data):
    """The members of a .warc.gz, decompressed, at most MAX_FILE bytes in all; ValueError when not."""
    out, total = [], 0
    while data:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = member.decompress(data, MAX_FILE - total + 1)
        total += len(chunk)
        if total > MAX_FILE:
            raise ValueError("it decompresses to more than %d bytes, the most a bundle file may hold" % MAX_FILE)
        if not member.eof:
            raise ValueError("a gzip member is cut short")
        out.append(chunk)
        data = member.unused_data
    return b"".join(out)

def record_id(record_hash, kind):
    """The WARC-Record-ID scopewatch derives from a record hash and a kind (src/evidence/warc.rs record_id)."""
    h = hashlib.sha256(("%s/%s" % (record_hash, kind)).encode("utf-8")).hexdigest()
    return "<urn:uuid:%s-%s-8%s-a%s-%s>" % (h[0:8], h[8:12], h[13:16], h[17:20], h[20:32])

def concurrent_slots(record_hash, record):
    """[(WARC type, id) choices] a metadata record is WARC-Concurrent-To, in order (warc.rs concurrent_slots): the
    attempt's own response or revisit (its request without a response) unless its own capture is a portal document's
    metadata call, then that call's response (its request without a status)."""
    try:
        call = json.loads(record.get("fetch_details") or "{}")["portal"]["metadata"]
    except (KeyError, TypeError, ValueError):
        call = None
    own, slots = lambda kind: (kind, record_id(record_hash, kind)), []
    if not isinstance(call, dict) or call.get("url") != record.get("url"):
        status = record.get("status")
        slots.append([own("request")] if status is None else [own("revisit")] if status == 304 else [own("response"), own("revisit")])
    if isinstance(call, dict):
        slots.append([("request", record_id(record_hash, "portal-metadata/request"))] if call.get("status") is None
                     else [("response", record_id(record_hash, "portal-metadata/response"))])
    return slots

def capture_problem(meta, concurrent, kinds, leaf, name):
    """Why a metadata record's capture is not whole, or None: its `record` must hash to the record_hash of its ledger
    leaf, and its WARC-Concurrent-To must be exactly the records derived from that hash, each earlier in the file."""
    record_hash = leaf.get("record_hash") if leaf else None
    try:
        canonical = meta["record"]
        if record_hash is None or hashlib.sha256(canonical.encode("utf-8")).hexdigest() != record_hash: raise ValueError
        slots = concurrent_slots(record_hash, json.loads(canonical))
    except (KeyError, TypeError, ValueError, AttributeError):
        return "the WARC metadata in %s does not hold the record its ledger entry hashed: the capture was replaced" % name
    if len(concurrent) != len(slots) or any(c not in [i for _, i in slot] for c, slot in zip(concurrent, slots)):
        return "the WARC-Concurrent-To of its metadata in %s are not the records derived from its record hash: a record was removed, added or swapped" % name
    for target, slot in zip(concurrent, slots):
        if (kinds.get(target), target) not in slot:
            return "its WARC record %s is missing from %s: its WARC records were removed" % (target, name)
    return None

def archived(directory, name, leaves, problem):
    """{ledger_seq: None, or why its capture is not whole} of the WARC metadata records in archive/NAME."""
    try:
        data, found, kinds, at = gunzip(read(directory, name, problem) or b""), {}, {}, 0
    except (zlib.error, ValueError) as error:
        return problem(None, "%s cannot be read whole: %s" % (name, error)) or {}
    while at < len(data):
        end = data.find(b"\r\n\r\n", at)
        head = [l.split(":", 1) for l in data[at:end].decode("utf-8", "replace").split("\r\n")[1:] if ":" in l]
        head = [(k.strip().lower(), v.strip()) for k, v in head]
        concurrent, head = [v for k, v in head if k == "warc-concurrent-to"], dict(head)  # a portal attempt has two
        length = head.get("content-length", "")
        if end < 0 or not length or length.strip("0123456789"):
            return problem(None, "%s is not a sequence of WARC records (a record without a Content-Length of digits)" % name) or found
        start, advanced = end + 4, end + 8 + int(length)
        if advanced <= at or data[advanced - 4:advanced] != b"\r\n\r\n":
            return problem(None, "%s is not a sequence of WARC records" % name) or found
        at = advanced
        kinds.setdefault(head.get("warc-record-id"), head.get("warc-type"))
        if head.get("warc-type") == "metadata":
            try:
                meta = json.loads(data[start:at - 4].decode("utf-8"))
                seq = meta["ledger_seq"]
                found[seq] = capture_problem(meta, concurrent, kinds, leaves.get(seq), name)
            except (ValueError, KeyError, TypeError):
                problem(None, "%s holds a metadata record that is not JSON with a ledger_seq" % name)
    return found

def check_manifest(directory, manifest, leaves, problem):
    """Every capture the selection includes has its WARC records; nothing selected is called unselected."""
    listed, selection, warcs = {e["seq"]: e for e in manifest["entries"]}, manifest["selection"], {}
    for seq, leaf in sorted(leaves.items()):
        if leaf.get("type") not in ("capture", "failure", "event"): continue
        entry = listed.get(seq)
        if entry is None or entry.get("record_id") != leaf.get("record_id"):
            problem(seq, "is not listed in manifest.json as the bundle's ledger says: the manifest was altered")
            continue
        at, source = leaf.get("at", ""), leaf.get("source")
        chosen = (not selection["sources"] or source in selection["sources"]) and \
            (selection["since"] is None or at >= selection["since"]) and (selection["until"] is None or at < selection["until"])
        if leaf["type"] != "event" and chosen != (entry["status"] != "not-selected"):
            problem(seq, "the manifest says %s, but its %s of record %s (source %s, at %s) is %s the selection"
                    % (entry["status"], leaf["type"], leaf["record_id"], source, at, "within" if chosen else "outside"))
        if leaf["type"] != "event" and chosen:
            name = "archive/%s.warc.gz" % source
            if name not in warcs:
                warcs[name] = archived(directory, name, leaves, problem)
            if seq not in warcs[name]:
                problem(seq, "the %s of record %s is missing from %s: its WARC records were removed" % (leaf["type"], leaf["record_id"], name))
            elif warcs[name][seq]:
                problem(seq, "the %s of record %s: %s" % (leaf["type"], leaf["record_id"], warcs[name][seq]))

def check(directory):
    problems = []
    problem = lambda seq, text: problems.append((seq, text))
    checkpoints = read_checkpoints(directory, problem)
    if not checkpoints:
        return problems + [(None, "no checkpoint in ledger/checkpoints: nothing signs the ledger")], None
    size, (newest, root) = max(checkpoints.items())
    try:
        manifest = json.loads(open(os.path.join(directory, "manifest.json"), "rb").read().decode("utf-8"))
        manifest["ledger"]["first"]
    except (OSError, ValueError, KeyError, TypeError):
        manifest = None
        print("no readable manifest.json: which captures the bundle must hold is not checked")
    leaves, hashes, previous = {}, {}, None
    for number, line, leaf in read_jsonl(directory, "ledger/entries.jsonl", problem):
        seq = leaf["seq"]
        if previous is not None and seq <= previous:
            problem(seq, "is out of order: line %d, after entry %d; ledger lines were moved or repeated" % (number, previous))
        previous, leaves[seq], hashes[seq] = seq, leaf, leaf_hash(line)
    first = manifest["ledger"]["first"] if manifest else min(leaves) if leaves else size
    missing = [seq for seq in range(first, size) if seq not in leaves]
    for seq in missing:
        if seq - 1 not in missing:
            end = next(s for s in range(seq, size + 1) if s not in missing) - 1
            problem(seq, "%s missing: the ledger lines were deleted (entries %d to %d must run without a gap)"
                    % ("is" if seq == end else "to %d are" % end, first, size - 1))
    for seq in sorted(leaves):
        expected = hashes[seq - 1].hex() if seq - 1 in hashes else "0" * 64 if seq == 0 else None
        if expected is not None and leaves[seq].get("prev") != expected:
            problem(seq, "its prev is not the hash of entry %d: one of the two was altered or replaced" % (seq - 1))
    proofs = {proof["seq"]: proof for _, _, proof in read_jsonl(directory, "ledger/proofs/inclusion.jsonl", problem)}
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
                ok = proof["tree_size"] == size and included(seq, size, hashes[seq], [bytes.fromhex(n) for n in proof["path"]], root)
            except (KeyError, TypeError, ValueError):
                ok = False
            if not ok:
                problem(seq, "its audit path does not lead to the root checkpoint %s signed: the entry was altered or is not in the signed log" % newest)
    if first == 0 and leaves and len(leaves) == size:
        edge = []
        for seq in range(size):
            add_leaf(edge, hashes[seq])
            if seq + 1 in checkpoints and edge_root(edge) != checkpoints[seq + 1][1]:
                problem(seq, "entries 0 to %d do not hash to the root checkpoint %s signed: the ledger was rewritten" % (seq, checkpoints[seq + 1][0]))
    if manifest:
        try:
            check_manifest(directory, manifest, leaves, problem)
        except (KeyError, TypeError) as error:
            problem(None, "manifest.json is not a manifest (%s missing)" % error)
    return problems, (first, size, newest, root, len(leaves))

def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
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
        print("ledger verified: entries %d to %d (%d), their leaf hashes, prev links and inclusion proofs, against"
              " checkpoint %s (tree size %d, root %s)" % (first, size - 1, count, newest, size, root.hex()))
        if first == 0:
            print("and the Merkle root of every checkpoint recomputed from the entries")
    print("signatures are not checked here: see README.txt for openssl")
    return 0

if __name__ == "__main__":
    sys.exit(main())
