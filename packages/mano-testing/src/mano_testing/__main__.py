"""`python -m mano_testing serve ...`."""
