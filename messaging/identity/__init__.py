"""Who the member is: the adapter a host site supplies, and the member token."""
