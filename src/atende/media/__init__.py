"""Media: the files customers send and the team attaches, kept by Atende.

``storage`` is the port files are kept behind (a local folder, or Supabase Storage) and
its adapters; ``urls`` signs the short-lived links Atende serves them under
(``endpoints``); ``models`` holds what a message's ``media`` items say and the kinds of
file WhatsApp carries, with their limits. Fetching a customer's file from Twilio is the
channel's work (``atende.channels.media``), through the transport port.
"""
