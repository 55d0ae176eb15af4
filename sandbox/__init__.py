"""The embedded Genesys Cloud sandbox: a local stand-in for development, demos and tests."""
