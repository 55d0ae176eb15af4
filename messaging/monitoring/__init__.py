"""What operators look at: /metrics (the scrape view and the outbox backlog collector), the data action's
outcome decorator, and the admin's Messaging health page (its reads and its server-side SVG charts). The recording
API every layer calls is messaging/metrics.py."""
