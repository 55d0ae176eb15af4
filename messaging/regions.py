"""Genesys Cloud regions: AWS region name -> hosts and the default Messenger environment.

Pure Python (no Django imports) so settings can resolve hosts at start-up.
Source of the domains: PureCloudPlatformClientV2 269.0.0 `purecloud_region_hosts.py` and
terraform-provider-genesyscloud `getRegionMap()` (see shared GENESYS.md).
"""

from dataclasses import dataclass

# AWS region -> (domain, default Messenger environment). Environments from Genesys' own service-discovery table
# (npm genesys-cloud-service-discovery-web, `_environments`; shared GENESYS.md "Messenger"): "prod" for us-east-1,
# "prod-<short>" for the other commercial regions, "fedramp-use2-core" for the FedRAMP region us-east-2 (a public
# deployment snippet pairs it with apps.use2.us-gov-pure.cloud). Entries marked unverified are best guesses.
# Always prefer the value from your deployment's snippet (GENESYS_ENVIRONMENT).
_REGIONS: dict[str, tuple[str, str]] = {
    "us-east-1": ("mypurecloud.com", "prod"),
    "us-east-2": ("use2.us-gov-pure.cloud", "fedramp-use2-core"),
    "us-west-2": ("usw2.pure.cloud", "prod-usw2"),
    "ca-central-1": ("cac1.pure.cloud", "prod-cac1"),
    "sa-east-1": ("sae1.pure.cloud", "prod-sae1"),
    "mx-central-1": ("mxc1.pure.cloud", "prod-mxc1"),  # unverified environment
    "eu-west-1": ("mypurecloud.ie", "prod-euw1"),
    "eu-west-2": ("euw2.pure.cloud", "prod-euw2"),
    "eu-central-1": ("mypurecloud.de", "prod-euc1"),
    "eu-central-2": ("euc2.pure.cloud", "prod-euc2"),
    "me-central-1": ("mec1.pure.cloud", "prod-mec1"),
    "ap-south-1": ("aps1.pure.cloud", "prod-aps1"),
    "ap-northeast-1": ("mypurecloud.jp", "prod-apne1"),
    "ap-northeast-2": ("apne2.pure.cloud", "prod-apne2"),
    "ap-northeast-3": ("apne3.pure.cloud", "prod-apne3"),
    "ap-southeast-1": ("apse1.pure.cloud", "prod-apse1"),  # unverified environment
    "ap-southeast-2": ("mypurecloud.com.au", "prod-apse2"),
    # Unverified: the sovereign-cloud region follows the FedRAMP pattern "<partition>-<short>-core"; no public
    # snippet confirms it (shared GENESYS.md "Messenger", which marks it unverified). Set GENESYS_ENVIRONMENT from
    # the deployment's snippet there.
    "eusc-de-east-1": ("edee1.eusc-pure.cloud", "eusc-edee1-core"),
}


class UnknownRegion(ValueError):
    """GENESYS_REGION names no Genesys Cloud region."""


@dataclass(frozen=True)
class Region:
    name: str
    domain: str
    environment: str

    @property
    def api_base(self) -> str:
        return f"https://api.{self.domain}"

    @property
    def login_base(self) -> str:
        return f"https://login.{self.domain}"

    @property
    def apps_base(self) -> str:
        return f"https://apps.{self.domain}"

    @property
    def webmessaging_host(self) -> str:
        """Host of the guest WebSocket Messenger opens (wss://)."""
        return f"webmessaging.{self.domain}"


def websocket_origin(base_url: str) -> str:
    """The WebSocket origin on the same host as an http(s) base URL: https -> wss, http -> ws (the sandbox's
    guest socket lives on its own origin, as Genesys' lives on webmessaging.<domain>)."""
    scheme, sep, rest = base_url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'wss' if scheme == 'https' else 'ws'}{sep}{host}"


def region_names() -> list[str]:
    return sorted(_REGIONS)


def get_region(name: str) -> Region:
    """The region for an AWS region name; raises UnknownRegion listing the valid names."""
    key = (name or "").strip().lower()
    if key not in _REGIONS:
        raise UnknownRegion(f"Unknown GENESYS_REGION {name!r}. Valid regions: {', '.join(region_names())}.")
    domain, environment = _REGIONS[key]
    return Region(name=key, domain=domain, environment=environment)
