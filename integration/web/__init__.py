"""The integration engine's web side: the HL7 message monitor API."""
