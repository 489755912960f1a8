"""Local servers that speak external services' wire protocols, for tests."""
