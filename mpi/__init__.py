"""Patient identity: one enterprise record per person, local identifiers, matching."""
