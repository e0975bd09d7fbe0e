# Decrypts SOPS YAML the way `sops --decrypt` does, written from the SOPS format
# (getsops/sops aes/cipher.go, sops.go, stores/stores.go), not from pctl's code: the
# data key from the `age` CLI, the values and the MAC with PyYAML and cryptography's
# AES-GCM. argv: file, age identity file, [recipient: the sops.age entry to use, which
# must be the only one for it]. Prints a JSON list, one {"sops": bool, "doc": ...} per
# document (plain documents as they are); exits non-zero with a message when anything
# fails, the MAC check included. The one copy the tests use (tests/it/common/tools.rs).
import base64, hashlib, json, re, subprocess, sys, tempfile
from decimal import Decimal
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

path, identity = sys.argv[1:3]
recipient = sys.argv[3] if len(sys.argv) > 3 else None

class Loader(yaml.SafeLoader):
    pass
# Go's yaml.v3 (sops) reads unquoted timestamps into interface{} as strings.
Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def decrypt_document(doc, meta):
    for field in ("lastmodified", "mac", "version", "encrypted_regex"):
        if not isinstance(meta.get(field), str):
            fail("sops." + field + " is not a string")
    for rule in ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex"):
        if rule in meta:
            fail("more than one encryption rule: " + rule)
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["lastmodified"]):
        fail("lastmodified does not round-trip through Go's time.RFC3339: " + meta["lastmodified"])

    entries = [k for k in meta.get("age") or [] if recipient is None or k.get("recipient") == recipient]
    if recipient is not None and len(entries) != 1:
        fail("no single sops.age entry for " + recipient)
    key, errors = None, []
    for entry in entries:
        with tempfile.NamedTemporaryFile("w", suffix=".age") as enc:
            enc.write(entry["enc"])
            enc.flush()
            run = subprocess.run(["age", "--decrypt", "--identity", identity, enc.name], capture_output=True)
        if run.returncode == 0:
            key = run.stdout
            break
        errors.append(run.stderr.decode())
    if key is None:
        fail("age: " + "; ".join(errors or ["no sops.age entry"]))
    if len(key) != 32:
        fail("data key is %d bytes" % len(key))
    aes = AESGCM(key)

    ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$")

    def decrypt(value, aad):
        if value == "":
            return ""
        if not isinstance(value, str):
            fail("%s is not encrypted: %r" % (aad, value))
        m = ENC.match(value)
        if not m:
            fail("%s is not encrypted: %r" % (aad, value))
        data, iv, tag = (base64.b64decode(g, validate=True) for g in m.group(1, 2, 3))
        try:
            plain = aes.decrypt(iv, data + tag, aad.encode()).decode()
        except Exception as e:
            fail("AES-GCM authentication failed at %s: %r" % (aad, e))
        kind = m.group(4)
        if kind == "str":
            return plain
        if kind == "int":
            return int(plain)
        if kind == "float":
            return float(plain)
        if kind == "bool":
            return {"True": True, "False": False}[plain]
        fail("unknown type " + kind)

    def to_bytes(v):
        if isinstance(v, bool):
            return b"True" if v else b"False"
        if isinstance(v, int):
            return str(v).encode()
        if isinstance(v, float):
            # Go's strconv.FormatFloat(v, 'f', -1, 64)
            s = format(Decimal(repr(v)), "f")
            if "." in s:
                s = s.rstrip("0").rstrip(".")
            return s.encode()
        return v.encode()

    encrypted_regex = re.compile(meta["encrypted_regex"])
    digest = hashlib.sha512()

    def walk(node, path, encrypted):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if not isinstance(k, str):
                    fail("non-string key %r" % (k,))
                out[k] = walk(v, path + [k], encrypted or bool(encrypted_regex.search(k)))
            return out
        if isinstance(node, list):
            return [walk(v, path, encrypted) for v in node]
        if node is None:
            return None
        if encrypted:
            node = decrypt(node, ":".join(path) + ":")
        digest.update(to_bytes(node))
        return node

    plain = walk(doc, [], False)
    mac = decrypt(meta["mac"], meta["lastmodified"])
    if mac != digest.hexdigest().upper():
        fail("MAC mismatch. File has %s, computed %s" % (mac, digest.hexdigest().upper()))
    return plain

out = []
with open(path) as f:
    for doc in yaml.load_all(f, Loader=Loader):
        if doc is None:
            continue
        meta = doc.pop("sops", None) if isinstance(doc, dict) else None
        if meta is None:
            out.append({"sops": False, "doc": doc})
            continue
        if not isinstance(meta, dict):
            fail("sops metadata is not a mapping")
        out.append({"sops": True, "doc": decrypt_document(doc, meta)})
json.dump(out, sys.stdout)
