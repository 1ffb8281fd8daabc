"""Writes contacts_fixture.json: >= 2,000 Xero contacts with planted duplicates and look-alikes.

    .venv/bin/python tests/data/make_contacts_fixture.py   # seeded: the same file every time

Each contact carries `entity` (contacts with the same entity are one real customer: the truth the
dedupe test scores against) and `kind` (how it was planted). Xero refuses two ACTIVE contacts whose
names differ only in case or repeated spaces, so a case duplicate also gains a trailing full stop and
a whitespace duplicate loses an inner space; every name here is unique under Xero's rule.

`--size N` writes a bigger org for the benchmark (not committed).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from jobsync.core.contact_match import business_key  # noqa: E402  (needs the path above)

SEED = 20261125
# The sandbox starts with a few contacts of its own; the fixture's names must not collide with them.
SANDBOX_SEED = Path(__file__).resolve().parents[2] / "jobsync" / "sandbox" / "data" / "xero_seed.json"
FIRST = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia Jennifer "
    "Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Betty Sandra Ashley Emily Olivia "
    "Chloe Liam Noah Jack Oliver Lucas Ethan Mia Grace Ava Zoe Ruby Harper Isla Leo Henry"
).split()
LAST = (
    "Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson Nguyen Thomas "
    "Walker Harris Lee Ryan Robinson Kelly King Davis Wright Evans Roberts Green Hall Wood Jackson "
    "Clarke Patel Khan Lewis James Phillips Mitchell Turner Cooper Ward Morris Young Scott Baker "
    "Adams Campbell Stewart Murphy Hughes Edwards Collins Morgan Bell Parker Watson Murray Price "
    "Bennett Gray Cook Kennedy Hill Carter Quinn Fraser Hamilton Grant Ross Shaw Holmes Reid"
).split()
TRADES = (
    "Plumbing Electrical Roofing Carpentry Landscaping Painting Tiling Fencing Glazing Concreting "
    "Cleaning Removals Bricklaying Plastering Flooring Joinery Solar Pools Drainage Guttering"
).split()
ADJ = (
    "Northside Coastal Premier Reliable Rapid Golden Harbour Summit Eastern Western Southern Metro "
    "Valley Bayside Central Pacific Highland Urban Heritage Precision Allied United Royal Apex"
).split()
STREETS = (
    "George Pitt King Queen Elizabeth Victoria Albert Church High Station Park Beach Ocean Market Bridge Mill Hill"
).split()
SUBURBS = (
    "Parramatta Newtown Manly Bondi Ryde Penrith Liverpool Hornsby Chatswood Randwick Carlton "
    "Fitzroy Geelong Ballarat Toowong Wollongong"
).split()
SUFFIXES = (" Pty Ltd", " Pty. Ltd.", " Ltd", " Limited", " Pty Limited")
KINDS = ("case", "whitespace", "punctuation", "suffix", "copy_number", "same_email", "same_phone")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


class Maker:
    def __init__(self, seed: int, wide: bool = False) -> None:
        self.rng = random.Random(seed)
        self.wide = wide  # big orgs need more distinct names than first × last × trade gives
        self.names: set[str] = set()
        self.base_keys: set[str] = set()
        if SANDBOX_SEED.exists():
            for contact in json.loads(SANDBOX_SEED.read_text(encoding="utf-8")).get("contacts", []):
                self.names.add(_key(contact["Name"]))
                self.base_keys.add(business_key(contact["Name"]))
        self.phones: set[str] = set()
        self.rows: list[dict[str, Any]] = []

    def unique_phone(self) -> str:
        while True:
            if self.rng.random() < 0.5:
                digits = f"04{self.rng.randrange(10**8):08d}"
            else:
                digits = f"0{self.rng.choice('2378')}{self.rng.randrange(10**8):08d}"
            if digits not in self.phones:
                self.phones.add(digits)
                return digits

    def base_name(self) -> str:
        r, rng = self.rng.random(), self.rng
        if self.wide and rng.random() < 0.6:
            return f"{rng.choice(FIRST)} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice(LAST)}-{rng.choice(LAST)}"
        if r < 0.45:
            return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if r < 0.75:
            return f"{rng.choice(LAST)} {rng.choice(TRADES)}" + (rng.choice(SUFFIXES) if rng.random() < 0.3 else "")
        return f"{rng.choice(ADJ)} {rng.choice(TRADES)} {rng.choice(['Services', 'Co', 'Group', 'Solutions'])}"

    def add(self, entity: str, kind: str, name: str, email: str | None, phone: str | None, address: str | None) -> bool:
        if _key(name) in self.names:
            return False
        self.names.add(_key(name))
        row: dict[str, Any] = {"entity": entity, "kind": kind, "Name": name}
        if email:
            row["EmailAddress"] = email
        if phone:
            row["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": phone}]
        if address:
            row["Addresses"] = [
                {"AddressType": "STREET", "AddressLine1": address.split(", ")[0], "City": address.split(", ")[1]}
            ]
        self.rows.append(row)
        return True

    def details(self, n: int, name: str) -> tuple[str | None, str | None, str | None]:
        rng = self.rng
        local = "".join(ch for ch in name.lower() if ch.isalnum())[:12]
        email = f"{local}.{n}@example{n % 7}.com.au" if rng.random() < 0.9 else None
        phone = self.unique_phone() if rng.random() < 0.85 else None
        address = (
            f"{rng.randrange(1, 300)} {rng.choice(STREETS)} St, {rng.choice(SUBURBS)}" if rng.random() < 0.8 else None
        )
        return email, phone, address


def fmt_phone(digits: str, style: int) -> str:
    """The same number written the ways people write it."""
    if digits.startswith("04"):
        forms = (
            f"{digits[:4]} {digits[4:7]} {digits[7:]}",
            f"+61 {digits[1:4]} {digits[4:7]} {digits[7:]}",
            f"+61{digits[1:]}",
            f"({digits[:4]}) {digits[4:]}",
        )
    else:
        forms = (
            f"({digits[:2]}) {digits[2:6]} {digits[6:]}",
            f"+61 {digits[1]} {digits[2:6]} {digits[6:]}",
            f"{digits[:2]} {digits[2:6]}-{digits[6:]}",
            f"+61{digits[1:]}",
        )
    return forms[style % len(forms)]


def variant(rng: random.Random, kind: str, name: str) -> str:
    words = name.split()
    if kind == "case":
        return (name.upper() if rng.random() < 0.5 else name.lower()) + "."
    if kind == "whitespace":
        i = rng.randrange(len(words) - 1)
        return " ".join([*words[:i], words[i] + words[i + 1], *words[i + 2 :]])
    if kind == "punctuation":
        if len(words) > 1 and rng.random() < 0.5:
            i = rng.randrange(len(words) - 1)
            return " ".join(words[: i + 1]) + rng.choice(["-", ", ", " - ", "/"]) + " ".join(words[i + 1 :])
        return name + rng.choice([".", "!", " ."])
    if kind == "suffix":
        for s in SUFFIXES:
            if name.endswith(s):
                return name[: -len(s)]
        return name + rng.choice(SUFFIXES)
    if kind == "copy_number":
        return name + rng.choice([" 1", " 2", " (2)", " (1)", "-1"])
    raise ValueError(kind)


def build(size: int, seed: int) -> list[dict[str, Any]]:
    m = Maker(seed, wide=size > 3000)
    rng = m.rng
    n = 0
    dup_target, look_target = int(size * 0.14), int(size * 0.05)
    while len(m.rows) < size - dup_target - look_target:
        n += 1
        name = m.base_name()
        if business_key(name) in m.base_keys:
            continue  # two customers whose names normalise alike are duplicates, not bases
        m.base_keys.add(business_key(name))
        email, phone, address = m.details(n, name)
        m.add(f"e{n}", "base", name, email, fmt_phone(phone, rng.randrange(4)) if phone else None, address)
    bases = list(m.rows)
    planted = 0
    while planted < dup_target:
        base = rng.choice(bases)
        kind = KINDS[planted % len(KINDS)]
        planted += _plant(m, base, kind)
    looked = 0
    while looked < look_target:
        n += 1
        looked += _look_alike(m, rng.choice(bases), n)
    return m.rows


def _plant(m: Maker, base: dict[str, Any], kind: str) -> int:
    rng = m.rng
    phone = base["Phones"][0]["PhoneNumber"] if "Phones" in base else None
    digits = None if phone is None else "0" + "".join(ch for ch in phone if ch.isdigit()).removeprefix("61").lstrip("0")
    email = base.get("EmailAddress")
    if kind in ("same_email", "same_phone"):
        if (kind == "same_email" and not email) or (kind == "same_phone" and not digits):
            return 0
        name = (
            f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if rng.random() < 0.5
            else f"{rng.choice(ADJ)} {rng.choice(TRADES)}"
        )
        keep_email = email if kind == "same_email" else None
        keep_phone = fmt_phone(digits, rng.randrange(1, 4)) if kind == "same_phone" and digits else None
        if kind == "same_email" and email:
            keep_email = email.upper() if rng.random() < 0.3 else email
        return int(m.add(base["entity"], kind, name, keep_email, keep_phone, None))
    if kind == "whitespace" and len(base["Name"].split()) < 2:
        return 0
    name = variant(rng, kind, base["Name"])
    # Duplicates keep the customer's details or lack them; they never contradict them.
    keep_email = email if rng.random() < 0.5 else None
    keep_phone = fmt_phone(digits, rng.randrange(4)) if digits and rng.random() < 0.5 else None
    return int(m.add(base["entity"], kind, name, keep_email, keep_phone, None))


def _look_alike(m: Maker, base: dict[str, Any], n: int) -> int:
    """A different customer who looks like `base`: same surname, or same name and other details."""
    rng = m.rng
    words = base["Name"].split()
    if rng.random() < 0.7 and len(words) == 2 and words[0] in FIRST:
        name = f"{rng.choice([f for f in FIRST if f != words[0]])} {words[1]}"
        kind = "lookalike_surname"
    else:
        name = base["Name"] + rng.choice([" 1", " 2", " (2)"])
        kind = "lookalike_same_name"
    email, phone, address = m.details(n, name)
    # Different people have their own email and address; a look-alike always has both.
    email = email or f"other.{n}@example.net"
    address = address or f"{rng.randrange(300, 400)} Other St, {rng.choice(SUBURBS)}"
    if "EmailAddress" not in base or "Addresses" not in base:
        return 0
    return int(m.add(f"e{n}", kind, name, email, fmt_phone(phone, rng.randrange(4)) if phone else None, address))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2100)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("contacts_fixture.json"))
    args = parser.parse_args()
    rows = build(args.size, args.seed)
    for i, row in enumerate(rows):
        row["key"] = f"c{i:05d}"
    # One contact per line: small, and a regenerated file diffs readably.
    lines = ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    args.out.write_text(f'{{"seed":{args.seed},"contacts":[\n{lines}\n]}}\n', encoding="utf-8")
    print(f"wrote {len(rows)} contacts to {args.out}")


if __name__ == "__main__":
    main()
