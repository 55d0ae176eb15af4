"""The Genesys Cloud Platform API client: HTTP session and retries, the client-credentials token, pacing, errors."""
