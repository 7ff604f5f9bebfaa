"""The jail for student code, and the trusted side's safe way to read what it touched.

``sandbox`` builds a jail (namespaces, its own user namespace, an allowlisted root, a size-capped
private working folder, an unprivileged UID, rlimits, a seccomp filter from ``syscalls``) and
measures it from inside; ``kernel`` is the jailed kernel manager nbgrader's Execute uses; ``zygote``
forks warm processes into jails; ``slots`` gives each running job its own UID; ``safefiles`` reads
and writes untrusted folders without following anything.  See docs/security.md.
"""
