"""Alert rules: pure functions of a stay's or attendance's facts, the clock and ClinicalRules."""
