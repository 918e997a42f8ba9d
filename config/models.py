"""Imports every model so the metadata is complete for migrations and schema checks."""

from __future__ import annotations

import mpi.audit
import mpi.gp_feed_run
import mpi.history
import mpi.merge_record
import mpi.models
import mpi.review  # noqa: F401
import whiteboard.auth.audit_model
import whiteboard.auth.models
import whiteboard.models  # noqa: F401
from config.db import Base

metadata = Base.metadata
