"""The OpenID Connect signing keys, read by a site's settings before Django starts (so no Django import here).

Production gives the active key in OIDC_RSA_PRIVATE_KEY (PEM) and the keys being retired in
OIDC_RSA_PRIVATE_KEYS_INACTIVE (PEMs one after another); JWKS lists them all, ID tokens are signed with the active
one only. Development without a key generates one into an ignored file at first use, so `make run` works and its
ID tokens stay valid across restarts.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)


class SigningKeyMissing(Exception):
    """No signing key where one is required (the message names the variable)."""


def split_pems(text: str) -> list[str]:
    """The PEM private keys in `text`, in order. `\\n` escapes (one-line environment values) become newlines."""
    return [block.strip() + "\n" for block in _PEM_BLOCK.findall(text.replace("\\n", "\n"))]


def generate_pem() -> str:
    """A new 2048-bit RSA private key as PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def development_key(path: Path) -> str:
    """The key stored at `path`, generated there first if missing (atomically: parallel processes agree)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".oidc-key-")
        with os.fdopen(handle, "w") as stream:
            stream.write(generate_pem())
        try:
            # link() fails if another process got there first: its key wins, ours is dropped.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text()


def active_key(value: str, *, required: bool, development_path: Path) -> str:
    """The active signing key from the environment `value`, else (when not `required`) the development key.

    Raises SigningKeyMissing when `required` and `value` holds no PEM private key.
    """
    keys = split_pems(value)
    if keys:
        return keys[0]
    if required:
        raise SigningKeyMissing(
            "OIDC_RSA_PRIVATE_KEY is required when DEBUG is off and GENESYS_AUTHENTICATED_MESSAGING is on: set it "
            "to an RSA private key in PEM (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)."
        )
    return development_key(development_path)
