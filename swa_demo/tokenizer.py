"""A real tokenizer (byte-level BPE, `tokenizer.json`) with labels a reader can see.

A byte-level BPE piece is a run of bytes: `ĠParis` is b" Paris", and a Chinese character (3 bytes in
UTF-8) may be split over two or three pieces. `labels` shows each piece readably:

    "The capital\\n"  -> ["The", "␣capital", "↵"]            spaces, newlines and tabs visible
    "中国"            -> ["中", "国"]                       one piece per character here, but
    a character split over two pieces -> ["中(1/2)", "中(2/2)"]  the pieces say what they form together

Loading reads `tokenizer.json` with the `tokenizers` library (well under a second), not transformers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    """The inverse of GPT-2's byte -> printable character map, which byte-level BPE vocabularies use."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(keep, chars)}


def visible(text: str) -> str:
    """Whitespace and control characters made visible; everything else as it is."""
    return "".join(VISIBLE.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 32 else c) for c in text)


class TextTokenizer:
    """`encode` text to ids, `decode` ids to text, and `labels` for showing pieces."""

    def __init__(self, path: str | Path):
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.tok = Tokenizer.from_file(str(self.path))
        self.vocab_size = self.tok.get_vocab_size(with_added_tokens=True)
        self.special = {t.content for t in self.tok.get_added_tokens_decoder().values() if t.special}

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)

    def piece_bytes(self, token_id: int) -> bytes:
        """The raw bytes one piece stands for (a special token: its text)."""
        piece = self.tok.id_to_token(token_id)
        if piece is None:
            raise ValueError(f"token id {token_id} is outside the vocabulary (0..{self.vocab_size - 1})")
        if piece in self.special:
            return piece.encode()
        table = _unicode_to_byte()
        return bytes(table[c] for c in piece) if all(c in table for c in piece) else piece.encode()

    def label(self, token_id: int) -> str:
        """One piece on its own (e.g. a next-token choice): its text, or its bytes if they are part of a
        character (`⟨e4 b8⟩`)."""
        raw = self.piece_bytes(token_id)
        try:
            return visible(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return "⟨" + " ".join(f"{b:02x}" for b in raw) + "⟩"

    def labels(self, ids: list[int]) -> list[str]:
        """A label per id for a sequence: pieces that only together form characters are labelled with
        those characters and their part, `中(1/2)`, `中(2/2)`."""
        out: list[str] = []
        group: list[bytes] = []
        for token_id in ids:
            group.append(self.piece_bytes(token_id))
            joined = b"".join(group)
            try:
                text = visible(joined.decode("utf-8"))
            except UnicodeDecodeError:
                if len(joined) < 16:  # a character is at most 4 bytes: wait for the rest
                    continue
                text = visible(joined.decode("utf-8", errors="replace"))
            if len(group) == 1:
                out.append(text)
            else:
                out += [f"{text}({i + 1}/{len(group)})" for i in range(len(group))]
            group = []
        if group:  # the sequence ends inside a character
            tail = b"".join(group).decode("utf-8", errors="replace")
            out += [f"{visible(tail)}({i + 1}/{len(group)})" for i in range(len(group))]
        return out
