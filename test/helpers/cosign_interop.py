"""An independent implementation of cosign's key and signature formats, for ecli's interoperability
tests: Debian's python3-cryptography (ECDSA P-256, PKCS#8, SPKI), python3-nacl (secretbox) and
hashlib's scrypt, with urllib against the test registry. It shares no code with ecli.

  make-key PREFIX PASSWORD N          PREFIX.key (label ENCRYPTED COSIGN PRIVATE KEY, scrypt N) and PREFIX.pub
  sign-blob KEY PASSWORD FILE         prints the base64 signature of FILE's bytes
  verify-blob PUB FILE SIG            exit 0 when SIG (base64, as cosign sign-blob writes it) verifies
  sign-registry KEY PASSWORD BASE REPO TAG
                                      adds a signature layer to REPO's sha256-<hex>.sig tag at BASE
  verify-registry PUB BASE REPO TAG   prints the digest when a signature by PUB names it
"""

import base64
import hashlib
import json
import os
import sys
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from nacl.secret import SecretBox

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


def pem_body(text):
    lines = [line for line in text.strip().splitlines() if not line.startswith("-----")]
    return base64.b64decode("".join(lines))


def pem(label, der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def box_key(password, salt, params):
    return hashlib.scrypt(password.encode(), salt=salt, n=params["N"], r=params["r"], p=params["p"], dklen=32, maxmem=512 * 1024 * 1024)


def open_key(path, password):
    envelope = json.loads(pem_body(open(path).read()))
    assert envelope["kdf"]["name"] == "scrypt" and envelope["cipher"]["name"] == "nacl/secretbox"
    key = box_key(password, base64.b64decode(envelope["kdf"]["salt"]), envelope["kdf"]["params"])
    der = SecretBox(key).decrypt(base64.b64decode(envelope["ciphertext"]), base64.b64decode(envelope["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, password=None)


def make_key(prefix, password, n):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    params = {"N": int(n), "r": 8, "p": 1}
    salt, nonce = os.urandom(32), os.urandom(24)
    sealed = SecretBox(box_key(password, salt, params)).encrypt(der, nonce).ciphertext
    envelope = {
        "kdf": {"name": "scrypt", "params": params, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    with open(prefix + ".key", "w") as f:
        f.write(pem("ENCRYPTED COSIGN PRIVATE KEY", json.dumps(envelope).encode()))
    public = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with open(prefix + ".pub", "wb") as f:
        f.write(public)


def sign(private, data):
    return base64.b64encode(private.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def verify(public_path, data, signature_b64):
    public = serialization.load_pem_public_key(open(public_path, "rb").read())
    try:
        public.verify(base64.b64decode(signature_b64.strip(), validate=True), data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def get_manifest(base, repo, reference):
    status, body, _ = request("GET", "%s/v2/%s/manifests/%s" % (base, repo, reference), headers={"Accept": OCI_MANIFEST})
    return body if status == 200 else None


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(base, repo, data):
    digest = digest_of(data)
    status, _, headers = request("POST", "%s/v2/%s/blobs/uploads/" % (base, repo), body=b"")
    assert status == 202, status
    location = headers["Location"]
    location = location if location.startswith("http") else base + location
    status, _, _ = request("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, body=data, headers={"Content-Type": "application/octet-stream"})
    assert status == 201, status
    return {"mediaType": "", "digest": digest, "size": len(data)}


def signature_tag(digest):
    return digest.replace(":", "-") + ".sig"


def sign_registry(key_path, password, base, repo, tag):
    digest = digest_of(get_manifest(base, repo, tag))
    existing = get_manifest(base, repo, signature_tag(digest))
    layers = json.loads(existing)["layers"] if existing else []
    claim = {"identity": {"docker-reference": base.split("//")[1] + "/" + repo}, "image": {"docker-manifest-digest": digest}, "type": "cosign container image signature"}
    # Compact, as cosign's Go encoder writes it.
    payload = json.dumps({"critical": claim, "optional": None}, separators=(",", ":")).encode()
    layer = put_blob(base, repo, payload)
    layer["mediaType"] = SIMPLE_SIGNING
    layer["annotations"] = {SIGNATURE_ANNOTATION: sign(open_key(key_path, password), payload)}
    layers.append(layer)
    config = put_blob(base, repo, json.dumps({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}).encode()
    status, body, _ = request("PUT", "%s/v2/%s/manifests/%s" % (base, repo, signature_tag(digest)), body=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert status == 201, (status, body)
    print(digest)


def verify_registry(public_path, base, repo, tag):
    digest = digest_of(get_manifest(base, repo, tag))
    signatures = get_manifest(base, repo, signature_tag(digest))
    if signatures is None:
        sys.exit("no signature tag for " + digest)
    for layer in json.loads(signatures)["layers"]:
        if layer["mediaType"] != SIMPLE_SIGNING:
            continue
        status, payload, _ = request("GET", "%s/v2/%s/blobs/%s" % (base, repo, layer["digest"]))
        assert status == 200 and digest_of(payload) == layer["digest"]
        if not verify(public_path, payload, layer["annotations"][SIGNATURE_ANNOTATION]):
            continue
        critical = json.loads(payload)["critical"]
        if critical["type"] == "cosign container image signature" and critical["image"]["docker-manifest-digest"] == digest:
            print(digest)
            return
    sys.exit("no signature by %s names %s" % (public_path, digest))


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "make-key":
        make_key(*args)
    elif command == "sign-blob":
        print(sign(open_key(args[0], args[1]), open(args[2], "rb").read()))
    elif command == "verify-blob":
        sys.exit(0 if verify(args[0], open(args[1], "rb").read(), open(args[2]).read()) else "the signature does not verify")
    elif command == "sign-registry":
        sign_registry(*args)
    elif command == "verify-registry":
        verify_registry(*args)
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv)
