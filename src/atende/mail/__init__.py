"""E-mail: rendered into an outbox by the transaction that causes it, sent by a job.

``outbox.queue_mail`` is what a domain calls; ``sender.Mailer`` speaks SMTP;
``messages`` renders each kind of mail (Brazilian Portuguese, plain text and HTML);
``tasks`` is the ``mail:send_mail`` job. See docs/operations.md ("E-mail").
"""
