"""Outgoing webhooks: signed POSTs that tell a business's own systems what happened."""
