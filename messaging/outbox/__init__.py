"""The outbox of attribute pushes: records and their state transitions, delivery under a lease, retry policy, sweep."""
