"""Settings, the app factory, wiring, the database base and migrations."""
