"""Translators: one HL7 message in, one command out."""
