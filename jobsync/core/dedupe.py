"""Finding duplicate Xero contacts: blocking, pairwise scores with reasons, graded clusters. Pure.

Evidence, strongest first: the same client id (ContactNumber or jobsync's client map), the same
email, the same phone (compared as E.164), then the name after business normalisation
(`contacts.business_key`: case, punctuation, company suffix, "Name 1" copy numbers). A name
match is marked down when the two contacts disagree on email, phone or address, because "same
name, different details" is how two different customers look.

Only pairs that share a block key are ever compared, so the work grows with the block sizes,
not with the square of the contact count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import combinations

import phonenumbers
from rapidfuzz import fuzz

from jobsync.core.contact_match import business_key, normalise_email, normalise_name
from jobsync.core.models import XeroContact

EXACT, LIKELY = 97, 85  # pair score thresholds for the grades; below LIKELY is "possible"
DEFAULT_MIN_SCORE = 70
NAME_FLOOR = 80  # name similarity below this is no evidence at all
MAX_BLOCK = 150  # a block bigger than this (a very common word) is split by the next word's prefix
HISTORY_STATUSES = ("AUTHORISED", "PAID")
_COPY = re.compile(r"(\s*\(\d+\)|\s*-\s*\d+|\s+\d)$")
_ADDR = re.compile(r"[^a-z0-9]+")
# business_key strips "pty ltd" only as separate words; a squashed name ("PtyLimited") needs its own pass.
_SQUASHED_SUFFIX = re.compile(r"(pty|proprietary|ltd|limited|inc|incorporated|llc|plc)+$")


@dataclass(frozen=True)
class ContactFacts:
    """A contact with what dedupe weighs: its details, its history and the client keys mapped to it."""

    contact: XeroContact
    phones: tuple[str, ...] = ()
    address: str | None = None
    invoice_counts: Mapping[str, int] = field(default_factory=dict)  # status -> count
    balance: Decimal = Decimal("0")  # outstanding on AUTHORISED invoices
    updated_at: datetime | None = None
    client_keys: tuple[str, ...] = ()  # jobsync client-map keys that point at this contact
    draft_invoice_ids: tuple[str, ...] = ()

    @property
    def contact_id(self) -> str:
        return self.contact.contact_id

    @property
    def history(self) -> int:
        return sum(self.invoice_counts.get(s, 0) for s in HISTORY_STATUSES)

    @property
    def invoices(self) -> int:
        return sum(self.invoice_counts.values())


@dataclass(frozen=True)
class PairScore:
    a: str  # ContactID
    b: str
    score: int
    reason: str
    kind: str = "name"  # what the score rests on: "id" / "email" / "phone" / "name"


@dataclass(frozen=True)
class Cluster:
    grade: str  # "exact" / "likely" / "possible"
    members: tuple[ContactFacts, ...]
    pairs: tuple[PairScore, ...]
    survivor: str  # ContactID
    survivor_reason: str

    @property
    def score(self) -> int:
        return min(p.score for p in self.pairs)

    @property
    def duplicates(self) -> tuple[ContactFacts, ...]:
        return tuple(m for m in self.members if m.contact_id != self.survivor)


@dataclass(frozen=True)
class _Features:
    key: str  # business key
    squashed: str  # business key without spaces: catches "AcmePlumbing" vs "Acme Plumbing"
    email: str | None
    phones: frozenset[str]
    ids: frozenset[str]
    address: str | None


def normalise_phone(text: str | None, region: str = "AU") -> str | None:
    """E.164 when phonenumbers can parse it, else the last 9 digits (enough to tell numbers apart)."""
    if not text or not text.strip():
        return None
    try:
        parsed = phonenumbers.parse(text, region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"\D", "", text)
    return digits[-9:] if len(digits) >= 6 else None


def _features(f: ContactFacts, region: str) -> _Features:
    key = business_key(f.contact.name)
    phones = {p for p in (normalise_phone(t, region) for t in (*f.phones, f.contact.phone)) if p}
    ids = {i.casefold() for i in (f.contact.contact_number, *f.client_keys) if i}
    address = _ADDR.sub(" ", f.address.casefold()).strip() if f.address else None
    squashed = key.replace(" ", "")
    squashed = _SQUASHED_SUFFIX.sub("", squashed) or squashed
    return _Features(
        key, squashed, normalise_email(f.contact.email), frozenset(phones), frozenset(ids), address or None
    )


def name_similarity(a: _Features, b: _Features) -> int:
    if a.key and (a.key == b.key or a.squashed == b.squashed):
        return 100
    if not a.key or not b.key:
        return 0
    return round(max(fuzz.token_sort_ratio(a.key, b.key), fuzz.ratio(a.squashed, b.squashed)))


def score_pair(a: _Features, b: _Features) -> tuple[int, str, str]:
    """(score 0-100, why, kind). Identifiers outrank contact details, which outrank the name."""
    sim = name_similarity(a, b)
    if a.ids & b.ids:
        return 100, f"same client id {sorted(a.ids & b.ids)[0]}", "id"
    if a.email and a.email == b.email:
        if sim >= LIKELY:
            return 100, f"same email, name {sim}%", "email"
        if _household(a.key, b.key):
            return 75, "same email, but different first names of one surname (a household?)", "email"
        return 92, f"same email, names differ ({sim}%)", "email"
    if a.phones & b.phones:
        score, why = (98, f"same phone, name {sim}%") if sim >= LIKELY else (88, f"same phone, names differ ({sim}%)")
        return score, why, "phone"
    if sim < NAME_FLOOR:
        return 0, "", "name"
    # A name that is merely similar needs to be very similar (a one-letter slip in a long name).
    score, why = (95, "same business name") if sim == 100 else (sim - 10, f"similar name {sim}%")
    conflicts: list[str] = []
    if a.email and b.email:
        score, conflicts = score - 25, [*conflicts, "emails differ"]
    if a.phones and b.phones:
        score, conflicts = score - 15, [*conflicts, "phones differ"]
    if a.address and b.address and a.address != b.address:
        score, conflicts = score - 10, [*conflicts, "addresses differ"]
    return score, "; ".join([why, *conflicts]), "name"


def _household(a: str, b: str) -> bool:
    """ "john smith" / "jane smith": two people who may well share the family's email."""
    wa, wb = a.split(), b.split()
    return len(wa) >= 2 and len(wb) >= 2 and wa[-1] == wb[-1] and wa[0] != wb[0]


def _block_keys(f: _Features) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [("i", i) for i in f.ids]
    keys += [("p", p) for p in f.phones]
    if f.email:
        keys.append(("e", f.email))
    if f.key:
        keys += [("n", f.key), ("s", f.squashed)]
        keys += [("t", t) for t in set(f.key.split()) if len(t) > 1]
    return keys


def _split_key(key: tuple[str, ...], f: _Features) -> list[tuple[str, ...]]:
    # A common word ("smith", "plumbing") is narrowed by the first letters of each other word.
    return [("tt", key[1], t[:3]) for t in f.key.split() if t != key[1]]


def candidate_pairs(features: list[_Features]) -> set[tuple[int, int]]:
    """Index pairs sharing at least one block key; oversized word blocks are split once, then dropped."""
    blocks: dict[tuple[str, ...], list[int]] = {}
    for i, f in enumerate(features):
        for key in _block_keys(f):
            blocks.setdefault(key, []).append(i)
    split: dict[tuple[str, ...], list[int]] = {}
    for key, members in list(blocks.items()):
        if key[0] == "t" and len(members) > MAX_BLOCK:
            del blocks[key]
            for i in members:
                for sub in _split_key(key, features[i]):
                    split.setdefault(sub, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for members in [*blocks.values(), *split.values()]:
        # An oversized email/phone/name block is shared data (a bookkeeper's address), not identity.
        if 1 < len(members) <= MAX_BLOCK:
            pairs.update(combinations(members, 2))
    return pairs


def grade(score: int) -> str:
    return "exact" if score >= EXACT else "likely" if score >= LIKELY else "possible"


def find_clusters(
    facts: Iterable[ContactFacts],
    min_score: int = DEFAULT_MIN_SCORE,
    keep_separate: Iterable[tuple[str, str]] = (),
    region: str = "AU",
) -> list[Cluster]:
    """Clusters of likely duplicates, strongest first; exact and likely clusters never chain through
    a merely possible pair, and a keep-separate pair is never an edge."""
    items = list(facts)
    features = [_features(f, region) for f in items]
    banned = {frozenset(p) for p in keep_separate}
    edges: list[PairScore] = []
    for i, j in sorted(candidate_pairs(features)):
        if frozenset((items[i].contact_id, items[j].contact_id)) in banned:
            continue
        score, why, kind = score_pair(features[i], features[j])
        if score >= min_score:
            edges.append(PairScore(items[i].contact_id, items[j].contact_id, score, why, kind))
    by_id = {f.contact_id: f for f in items}
    by_feature = {f.contact_id: x for f, x in zip(items, features, strict=True)}
    strong = _strong_components([e for e in edges if e.score >= LIKELY], by_feature)
    clusters = [_cluster(group, edges, by_id) for group in strong]
    covered = {frozenset(g) for g in strong}
    for group in _components(edges):
        if frozenset(group) not in covered:
            clusters.append(_cluster(group, edges, by_id, force="possible"))
    order = {"exact": 0, "likely": 1, "possible": 2}
    return sorted(clusters, key=lambda c: (order[c.grade], -c.score, normalise_name(c.members[0].contact.name)))


def _strong_components(edges: list[PairScore], features: dict[str, _Features]) -> list[set[str]]:
    """Join on the strongest pairs first; a name-only pair may not join two groups whose emails (or
    phones) are all different: a detail-less "Wood Glazing" must not bridge two real customers."""
    groups: dict[str, set[str]] = {}
    emails: dict[str, set[str]] = {}
    phones: dict[str, set[str]] = {}
    for cid in {x for e in edges for x in (e.a, e.b)}:
        groups[cid] = {cid}
        emails[cid] = _emails(features[cid])
        phones[cid] = set(features[cid].phones)
    home = {cid: cid for cid in groups}
    torn = _torn(edges, features)
    for e in sorted(edges, key=lambda e: (-e.score, e.a, e.b)):
        ra, rb = home[e.a], home[e.b]
        if ra == rb or (e.kind == "name" and (e.a in torn or e.b in torn)):
            continue
        if e.kind == "name" and (_apart(emails[ra], emails[rb]) or _apart(phones[ra], phones[rb])):
            continue
        for cid in groups[rb]:
            home[cid] = ra
        groups[ra] |= groups.pop(rb)
        emails[ra] |= emails.pop(rb)
        phones[ra] |= phones.pop(rb)
    return [g for g in groups.values() if len(g) > 1]


def _torn(edges: list[PairScore], features: dict[str, _Features]) -> set[str]:
    """Contacts whose name matches two contacts that cannot be one customer: which one they belong
    to is a guess, so their name pairs are left for review rather than picked by edge order."""
    near: dict[str, list[str]] = {}
    for e in edges:
        if e.kind == "name":
            near.setdefault(e.a, []).append(e.b)
            near.setdefault(e.b, []).append(e.a)
    torn = set()
    for cid, others in near.items():
        for u, v in combinations(others, 2):
            fu, fv = features[u], features[v]
            if _apart(_emails(fu), _emails(fv)) or _apart(set(fu.phones), set(fv.phones)):
                torn.add(cid)
                break
    return torn


def _emails(f: _Features) -> set[str]:
    return {f.email} if f.email else set()


def _apart(a: set[str], b: set[str]) -> bool:
    return bool(a) and bool(b) and a.isdisjoint(b)


def _components(edges: list[PairScore]) -> list[set[str]]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in edges:
        parent[root(e.a)] = root(e.b)
    groups: dict[str, set[str]] = {}
    for x in list(parent):
        groups.setdefault(root(x), set()).add(x)
    return [g for g in groups.values() if len(g) > 1]


def _cluster(
    group: set[str], edges: list[PairScore], by_id: dict[str, ContactFacts], force: str | None = None
) -> Cluster:
    pairs = tuple(sorted((e for e in edges if e.a in group and e.b in group), key=lambda e: -e.score))
    members = tuple(sorted((by_id[c] for c in group), key=lambda f: (normalise_name(f.contact.name), f.contact_id)))
    if force:
        kind = force
    else:
        # Exact only when the exact pairs alone hold the whole cluster together.
        exact = _components([p for p in pairs if p.score >= EXACT])
        kind = "exact" if any(g == group for g in exact) else "likely"
    survivor, why = choose_survivor(members)
    return Cluster(kind, members, pairs, survivor.contact_id, why)


def choose_survivor(members: Iterable[ContactFacts]) -> tuple[ContactFacts, str]:
    """Most approved/paid invoices, then most invoices, then a name without a copy number, then oldest."""
    far_future = datetime.max.replace(tzinfo=None)

    def rank(f: ContactFacts) -> tuple[int, int, bool, datetime, str]:
        when = f.updated_at.replace(tzinfo=None) if f.updated_at else far_future
        return (-f.history, -f.invoices, bool(_COPY.search(f.contact.name.strip())), when, f.contact_id)

    ordered = sorted(members, key=rank)
    best, runner = ordered[0], ordered[1]
    if best.history != runner.history:
        return best, f"most approved/paid invoices ({best.history})"
    if best.invoices != runner.invoices:
        return best, f"most invoices ({best.invoices})"
    if bool(_COPY.search(runner.contact.name.strip())) and not _COPY.search(best.contact.name.strip()):
        return best, 'the others carry a copy number ("Name 1")'
    return best, "oldest (earliest last change in Xero)"


def pairwise(clusters: Iterable[Cluster], grades: tuple[str, ...] = ("exact", "likely")) -> set[frozenset[str]]:
    """Every member pair of the clusters with these grades: what precision and recall are counted on."""
    found: set[frozenset[str]] = set()
    for c in clusters:
        if c.grade in grades:
            found.update(frozenset(p) for p in combinations(sorted(m.contact_id for m in c.members), 2))
    return found
