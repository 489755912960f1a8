"""Development tools, never part of a deployment: the Twilio simulator, the offline demo
model, the demo workspace and ``atende simulate``. ``atende dev`` uses them."""
