"""The data key (SURVEY_DATA_KEY): encryption of citizens' contact data, and keyed hashes.

The setting is a list of Fernet keys separated by commas: the first encrypts, every one
decrypts (cryptography's MultiFernet), so a new key is put first, `survey contacts rotate-key`
re-encrypts every row, and the old key is then removed. A keyed hash (HMAC-SHA256, with a key
derived from a data key) finds a number or a withdrawal code without storing it; a lookup
tries the hash of every key, so it works during a rotation too. No Flask and no database here:
the app and migration 0013 share it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

HASH_LABEL = b"survey contact lookup v1"


def load_data_key(folder: str) -> str:
    """Read the data key kept in the instance folder, creating it (mode 0600) on first use.

    Fit for one machine and development; production sets SURVEY_DATA_KEY from outside the
    database and its backups (docs/OPERATIONS.md)."""
    path = Path(folder) / "data_key"
    if not path.exists():
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def key_list(setting: str) -> list[str]:
    """The keys of a SURVEY_DATA_KEY setting, the encrypting one first."""
    keys = [k for k in re.split(r"[\s,]+", setting or "") if k]
    if not keys:
        raise ValueError("SURVEY_DATA_KEY holds no key.")
    return keys


def cipher(setting: str) -> MultiFernet:
    """The cipher of a SURVEY_DATA_KEY setting: the first key encrypts, all decrypt."""
    return MultiFernet([Fernet(k.encode()) for k in key_list(setting)])


def encrypt(setting: str, plain: str) -> str:
    """`plain` encrypted with the first key (an ASCII token)."""
    return cipher(setting).encrypt(plain.encode()).decode()


def decrypt(setting: str, token: str) -> str:
    """The text of `token`, with whichever key encrypted it; ValueError when none did."""
    try:
        return cipher(setting).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("No key of SURVEY_DATA_KEY decrypts this value.") from exc


def keyed_hash(key: str, value: str) -> str:
    """The HMAC-SHA256 (hex) of `value` under the hash key derived from the data key `key`."""
    derived = hmac.new(key.encode(), HASH_LABEL, hashlib.sha256).digest()
    return hmac.new(derived, value.encode(), hashlib.sha256).hexdigest()


def hashes(setting: str, value: str) -> list[str]:
    """The keyed hashes of `value` under every key, the first key's first."""
    return [keyed_hash(k, value) for k in key_list(setting)]


def normalise_phone(text: str) -> str:
    """A phone number as digits, the country code +84 written as a leading 0."""
    digits = re.sub(r"\D", "", text or "")
    if text.strip().startswith("+84") or (digits.startswith("84") and len(digits) == 11):
        digits = "0" + digits[2:]
    return digits
