"""What a ward board shows (the snapshot) and how it reaches the screens (the publisher)."""
