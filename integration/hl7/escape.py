"""HL7 escape sequences for text we write into a message (ERR-8, MSA-3, names)."""

from __future__ import annotations


def escape(text: str, field_sep: str = "|", encoding: str = "^~\\&") -> str:
    comp, rep, esc, sub = (encoding + "^~\\&"[len(encoding) :])[:4]
    out = text.replace(esc, f"{esc}E{esc}")
    for char, code in ((field_sep, "F"), (comp, "S"), (sub, "T"), (rep, "R")):
        out = out.replace(char, f"{esc}{code}{esc}")
    return out.replace("\r", " ").replace("\n", " ")
