#!/usr/bin/env python3
"""An independent verifier of Oversight Ledger's audit log (docs/audit.md).

It checks, from the files alone and without the product's own binary:

  checkpoint C --key VKEY [--witness WKEY]...
                                   a checkpoint's Ed25519 signature (C2SP signed note),
                                   and each witness's cosignature (C2SP tlog-cosignature)
  export FILE --checkpoint C --key VKEY
                                   an export's hash chain, and that its first entries
                                   are exactly the tree the checkpoint signed
  inclusion PROOF --checkpoint C --key VKEY
                                   an inclusion proof (`oversight audit prove`)
  consistency PROOF --old C1 --new C2 --key VKEY
                                   a consistency proof (`oversight audit consistency`)
  record PROOF --fingerprint HEX   a record proof (`oversight report prove-record`): the
                                   record's leaf leads to the data fingerprint a report's
                                   cover prints (docs/fingerprints.md, report/v4)
  roots FILE N                     the Merkle roots of an export's first 1..N entries,
                                   computed by the definition of RFC 9162 §2.1.1

Each check prints OK or what failed, and exits 1 on a failure. It needs
Python 3 and the `cryptography` package only; it was written from RFC 9162,
the C2SP signed-note and tlog-checkpoint specifications and the product's
documented entry hash, not from the product's code.
"""

import argparse
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
FIELDS = ("seq", "at_us", "user_id", "username", "roles", "source", "action",
          "object_kind", "object_id", "outcome", "details")


class Failure(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(leaf):
    return sha256(b"\x00" + leaf)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def largest_power_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_hash(leaves):
    """MTH(D[n]) by its definition."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = largest_power_below(len(leaves))
    return node_hash(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        raise Failure("entry %d is not in a tree of %d entries" % (index + 1, size))
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            raise Failure("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failure("the inclusion proof is too short")
    if r != root:
        raise Failure("the entry is not in the checkpoint's tree")


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 §2.1.4.2."""
    if first > second:
        raise Failure("the older tree is larger than the newer one")
    if first == second:
        if proof or first_root != second_root:
            raise Failure("two trees of the same size differ")
        return
    if first == 0:
        return
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        raise Failure("the consistency proof is empty")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Failure("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failure("the consistency proof is too short")
    if fr != first_root or sr != second_root:
        raise Failure("the newer log does not extend the older one: it was rewritten")


def parse_verifier_key(text, kind=0x01):
    """C2SP verifier key: name+hexid+base64(kind || 32-byte Ed25519 key);
    kind 0x01 for the log's key, 0x04 for a witness's cosignature key."""
    # A key name holds no "+"; the base64 key may.
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise Failure("not a verifier key")
    name, key_id, key = parts
    raw = base64.b64decode(key, validate=True)
    if len(raw) != 33 or raw[0] != kind:
        raise Failure("not an Ed25519 verifier key of type 0x%02x" % kind)
    expected = sha256(name.encode() + b"\n" + raw)[:4]
    if bytes.fromhex(key_id) != expected:
        raise Failure("the key ID does not match the key")
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note, verifier_key):
    """Checks the note's signature by the key; returns (origin, size, root)."""
    name, key_id, key = verifier_key
    note = note.replace("\r\n", "\n")
    split = note.rfind("\n\n")
    if split < 0:
        raise Failure("not a signed note")
    text, signatures = note[:split + 1], note[split + 2:]
    signed = False
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            continue
        sig_name, _, sig = line[2:].partition(" ")
        raw = base64.b64decode(sig)
        if sig_name == name and raw[:4] == key_id:
            try:
                key.verify(raw[4:], text.encode())
            except InvalidSignature:
                raise Failure("the signature by %s does not verify" % name)
            signed = True
    if not signed:
        raise Failure("the checkpoint carries no signature by the key %s" % name)
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise Failure("not a checkpoint")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Failure("the checkpoint's root is not 32 bytes")
    return lines[0], int(lines[1]), root


def check_cosignature(note, witness_key):
    """The witness's cosignature over the checkpoint's text: the key ID,
    then the time (8 bytes, big-endian), then the Ed25519 signature of
    "cosignature/v1\\ntime <t>\\n" followed by the text."""
    name, key_id, key = witness_key
    note = note.replace("\r\n", "\n")
    split = note.rfind("\n\n")
    text, signatures = note[:split + 1], note[split + 2:]
    for line in signatures.splitlines():
        sig_name, _, sig = line[2:].partition(" ")
        raw = base64.b64decode(sig)
        if line.startswith("\u2014 ") and sig_name == name and raw[:4] == key_id:
            when = int.from_bytes(raw[4:12], "big")
            try:
                key.verify(raw[12:], ("cosignature/v1\ntime %d\n" % when).encode() + text.encode())
            except InvalidSignature:
                raise Failure("the cosignature by %s does not verify" % name)
            return when
    raise Failure("the checkpoint carries no cosignature by the witness %s" % name)


def canonical(value):
    """JSON as the product hashes it: compact, object keys sorted, UTF-8."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = mantissa + "e" + str(int(exponent))
        return text
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(value[k])
                              for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def entry_hash(entry):
    body = "{" + ",".join('"%s":%s' % (f, canonical(entry[f])) for f in FIELDS) + "}"
    return hashlib.sha256((entry["prev_hash"] + "\n" + body).encode()).hexdigest()


def read_export(path):
    """The export's entry hashes, after checking its chain."""
    hashes, prev_seq, prev_hash = [], 0, GENESIS
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry["seq"] != prev_seq + 1:
                raise Failure("line %d: entry %d follows %d" % (number, entry["seq"], prev_seq))
            if entry["prev_hash"] != prev_hash:
                raise Failure("entry %d: its previous-hash does not match the entry before it" % entry["seq"])
            if entry_hash(entry) != entry["hash"]:
                raise Failure("entry %d: its content does not match its hash" % entry["seq"])
            prev_seq, prev_hash = entry["seq"], entry["hash"]
            hashes.append(bytes.fromhex(entry["hash"]))
    return hashes


def read_proof(path, header):
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    if not lines or lines[0] != header:
        raise Failure("not a proof file")
    fields, hashes = {}, []
    for line in lines[1:]:
        name, sep, value = line.partition(" ")
        if sep:
            fields[name] = value
        else:
            hashes.append(base64.b64decode(line, validate=True))
    return fields, hashes


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--key", required=True)
    p.add_argument("--witness", action="append", default=[])
    p = sub.add_parser("export")
    p.add_argument("file")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--key", required=True)
    p = sub.add_parser("inclusion")
    p.add_argument("proof")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--key", required=True)
    p = sub.add_parser("consistency")
    p.add_argument("proof")
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--key", required=True)
    p = sub.add_parser("record")
    p.add_argument("proof")
    p.add_argument("--fingerprint", required=True)
    p = sub.add_parser("roots")
    p.add_argument("file")
    p.add_argument("n", type=int)
    args = parser.parse_args(argv)

    def checkpoint(path):
        with open(path, encoding="utf-8") as f:
            return open_checkpoint(f.read(), parse_verifier_key(args.key))

    try:
        if args.command == "checkpoint":
            origin, size, root = checkpoint(args.checkpoint)
            with open(args.checkpoint, encoding="utf-8") as f:
                note = f.read()
            for witness in args.witness:
                check_cosignature(note, parse_verifier_key(witness, 0x04))
            print("OK %s signed a tree of %d entries, root %s%s" % (
                origin, size, base64.b64encode(root).decode(),
                "; cosigned by %d witness(es)" % len(args.witness) if args.witness else ""))
        elif args.command == "export":
            origin, size, root = checkpoint(args.checkpoint)
            hashes = read_export(args.file)
            if len(hashes) < size:
                raise Failure("CUT: the export holds %d entries, the checkpoint signed %d" % (len(hashes), size))
            if tree_hash(hashes[:size]) != root:
                raise Failure("REWRITTEN: the export's first %d entries are not the ones the checkpoint signed" % size)
            print("OK %d entries; the first %d are the tree %s signed" % (len(hashes), size, origin))
        elif args.command == "inclusion":
            origin, size, root = checkpoint(args.checkpoint)
            fields, hashes = read_proof(args.proof, "oversight-ledger inclusion proof")
            if fields.get("origin") != origin or int(fields["size"]) != size:
                raise Failure("the proof is for another log or tree size than the checkpoint")
            seq = int(fields["entry"])
            verify_inclusion(seq - 1, size, bytes.fromhex(fields["leaf"]), hashes, root)
            print("OK entry %d is in the tree of %d entries %s signed" % (seq, size, origin))
        elif args.command == "consistency":
            old_origin, old_size, old_root = checkpoint(args.old)
            new_origin, new_size, new_root = checkpoint(args.new)
            if old_origin != new_origin:
                raise Failure("the checkpoints are of different logs")
            if old_size == new_size and old_root != new_root:
                raise Failure("FORK: two checkpoints of %d entries with different roots" % old_size)
            fields, hashes = read_proof(args.proof, "oversight-ledger consistency proof")
            if (int(fields["old"]), int(fields["new"])) != (old_size, new_size):
                raise Failure("the proof is for other tree sizes than the checkpoints'")
            verify_consistency(old_size, new_size, old_root, new_root, hashes)
            print("OK the log of %d entries extends the log of %d entries" % (new_size, old_size))
        elif args.command == "record":
            with open(args.proof, encoding="utf-8") as f:
                lines = [l.strip() for l in f if l.strip()]
            if not lines or lines[0] != "oversight-ledger/report-record-proof/v1":
                raise Failure("not a record proof")
            fields, path = {}, []
            for line in lines[1:]:
                name, _, value = line.partition(" ")
                if name == "path":
                    path.append(bytes.fromhex(value))
                else:
                    fields[name] = value
            root = bytes.fromhex(args.fingerprint)
            if fields["fingerprint"] != args.fingerprint:
                raise Failure("the proof is for another fingerprint than the report's")
            index, _, size = fields["leaf"].partition(" of ")
            leaf = bytes.fromhex(fields["blind"]) + bytes.fromhex(fields["record-hash"])
            verify_inclusion(int(index), int(size), leaf, path, root)
            print("OK %s is record %d of the %s behind the data fingerprint %s" % (
                fields["record"], int(index) + 1, size, args.fingerprint))
        elif args.command == "roots":
            hashes = read_export(args.file)
            for n in range(1, min(args.n, len(hashes)) + 1):
                print(n, base64.b64encode(tree_hash(hashes[:n])).decode())
    except (Failure, ValueError, KeyError, OSError) as failure:
        print("FAILED: %s" % failure)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
