"""meshlint: lint AWS App Mesh definitions and compile them into static Envoy bootstraps."""

__version__ = "0.1.0"
