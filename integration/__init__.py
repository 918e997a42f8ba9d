"""HL7 v2 in and out: MLLP, the journal, parsing, routing and translation to commands."""
