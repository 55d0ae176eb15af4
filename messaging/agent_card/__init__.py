"""The member card Genesys' Interaction Widget shows agents beside a conversation: what the site's database knows
of the conversation's member, once Genesys has confirmed that the agent is on that conversation."""
