"""The outbound side: messages we send (A08 corrections, A40 merges), queued durably."""
