"""Ways Atende reaches customers. Each transport is a package implementing
``atende.channels.transport.MessagingTransport``; Twilio (WhatsApp and SMS) is the one today."""
