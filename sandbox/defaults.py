"""Development credentials shared by the site (config/settings.py) and the sandbox when none are configured.

They only ever open the local sandbox; a real Genesys org never sees them.
"""

CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
DEPLOYMENT_ID = "00000000-0000-4000-8000-000000000001"
# A second Messenger deployment, without authentication, for visitors (GENESYS_GUEST_DEPLOYMENT_ID).
GUEST_DEPLOYMENT_ID = "00000000-0000-4000-8000-000000000002"
DATA_ACTION_USERNAME = "sandbox-data-action"
DATA_ACTION_PASSWORD = "sandbox-data-action-password"
ENVIRONMENT = "sandbox"
# The OpenID Connect client the sandbox (as Genesys) uses at the site's token endpoint.
OIDC_CLIENT_ID = "sandbox-oidc-client"
OIDC_CLIENT_SECRET = "sandbox-oidc-client-secret"
PORT = 8100
# The OAuth client (grant type Code Authorization, PKCE) an org creates for the member card: public, no secret.
AGENT_CLIENT_ID = "sandbox-agent-client"
# The sandbox's agents (agent_users.py) sign in with this password.
AGENT_PASSWORD = "demo-pass-2026"
