"""The jail for student code: namespaces, an allowlisted root, an unprivileged UID, rlimits."""
