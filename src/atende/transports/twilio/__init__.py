"""Twilio: WhatsApp and SMS through Twilio's Messages API and its webhooks."""
