"""The ward record (stays, beds), the boards and their live push."""
