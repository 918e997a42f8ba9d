"""MLLP (minimal lower layer protocol) framing, server and client."""
