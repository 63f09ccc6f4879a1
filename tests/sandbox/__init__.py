"""Tests of the Python callback sandbox: policy, API, worker pool, and the escape corpus."""
