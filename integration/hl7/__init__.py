"""Reading and writing HL7 v2 text: header peek, charsets, parsing, acknowledgements."""
