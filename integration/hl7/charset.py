"""MSH-18 character sets to Python codecs, and decoding a message by them.

Without MSH-18, HL7 says ASCII, but real UK senders send UTF-8 or Windows-1252 unannounced;
we try UTF-8 (which rejects most Latin-1 text) and fall back to Windows-1252 so "Siân" from
either kind of sender survives.
"""

from __future__ import annotations

# HL7 table 0211 values (and the spellings senders actually use).
CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "iso-8859-1",
    "8859/15": "iso-8859-15",
    "ISO-8859-1": "iso-8859-1",
    "ISO IR100": "iso-8859-1",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "WINDOWS-1252": "cp1252",
    "CP1252": "cp1252",
}


class UnsupportedCharset(ValueError):
    pass


class UndecodableMessage(ValueError):
    pass


def codec_for(msh18: str) -> str | None:
    """The codec named by MSH-18, or None when the field is empty (guess from the bytes)."""
    if not msh18:
        return None
    codec = CHARSETS.get(msh18.strip().upper())
    if codec is None:
        raise UnsupportedCharset(f"MSH-18 character set {msh18!r} is not supported")
    return codec


def decode(raw: bytes, msh18: str, override: str | None = None) -> tuple[str, str]:
    """Return (text, codec used)."""
    codec = override or codec_for(msh18)
    if codec is None:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace"), "cp1252"
    if codec == "ascii":
        # Senders that say ASCII and send accented letters mean their local code page.
        try:
            return raw.decode("ascii"), "ascii"
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace"), "cp1252"
    try:
        return raw.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise UndecodableMessage(
            f"the message is not valid {msh18 or codec} (byte {exc.start}): {exc.reason}"
        ) from None


def encode(text: str, codec: str) -> bytes:
    return text.encode(codec, errors="replace")
