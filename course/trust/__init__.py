"""Trust: the static cheat scan and the out-of-kernel audit."""
