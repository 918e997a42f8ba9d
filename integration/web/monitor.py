"""The HL7 message monitor page: search the journal, raw and parsed views, the ACK sent,
replay from the error queue. The page is static; its data comes from /api/v1/hl7/.

Signed-in staff only (the policy's ``hl7_monitor.monitor`` entry).
"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("hl7_monitor", __name__, url_prefix="/hl7")


@bp.get("/monitor")
def monitor() -> str:
    return render_template("hl7_monitor.html")
