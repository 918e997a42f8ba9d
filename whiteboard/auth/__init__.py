"""Staff sign-on, roles and the permission matrix, kiosks, workstations and the audit log."""
