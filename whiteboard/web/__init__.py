"""HTTP pages, the JSON API and the Socket.IO board namespace."""
