"""Unit tests of the domain core, the store, the supervisor service and the process runner."""
