"""Errors of the Twilio transport, sorted by what sending again can do.

Each is a ``TransportError`` (``atende.channels.transport``): ``retryable`` decides retry
or give up; ``code`` (Twilio's error code), ``http_status`` and ``message`` are what to
record. ``outcome_unknown`` marks the failures where the request may have reached Twilio
anyway (no answer, or an answer we could not read).

Messages never contain credentials: they are built from Twilio's error text, and the
service scrubs the auth token from them in case a provider echoes it.
"""

from __future__ import annotations

from atende.channels.transport import TransportError


class TwilioError(TransportError):
    """Twilio did not accept the request."""

    @property
    def more_info(self) -> str | None:
        """Twilio's page about the error code, as Twilio's own responses link it."""
        return f"https://www.twilio.com/docs/errors/{self.code}" if self.code else None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"message={self.message!r})"
        )


# -- retryable --------------------------------------------------------------------------


class TwilioRetryableError(TwilioError):
    """Twilio could not take the request now; the same request may succeed later."""

    retryable = True


class TwilioRateLimited(TwilioRetryableError):
    """Twilio is limiting this account's request rate (HTTP 429, error 20429); retry later."""


class TwilioUnavailable(TwilioRetryableError):
    """Twilio answered with a server error or is under maintenance; retry later."""


class TwilioUnreachable(TwilioRetryableError):
    """Twilio could not be reached; the request was not sent. Retry later."""


class TwilioNoResponse(TwilioRetryableError):
    """Twilio did not answer in time (or the connection broke); the request may have been
    processed. Retry later, accepting that the message may be sent twice."""

    outcome_unknown = True


# -- permanent --------------------------------------------------------------------------


class TwilioPermanentError(TwilioError):
    """Twilio refused the request; sending it again unchanged will fail the same way."""


class TwilioAuthenticationFailed(TwilioPermanentError):
    """Twilio refused the channel's credentials (error 20003): check the account SID and
    auth token."""


class RecipientOptedOut(TwilioPermanentError):
    """The recipient has opted out of messages from this sender (error 21610)."""


class OutsideWhatsAppWindow(TwilioPermanentError):
    """The WhatsApp 24-hour customer-service window is closed (error 63016): only an
    approved template (ContentSid) may be sent until the customer writes again."""


class InvalidRecipient(TwilioPermanentError):
    """The 'To' address is not a valid (mobile) number for this channel (error 21211 or
    21614)."""


class RecipientRegionNotEnabled(TwilioPermanentError):
    """The account may not send to the recipient's country or region (error 21408)."""


class MediaNotFetched(TwilioPermanentError):
    """Twilio could not fetch the file from its link (expired, gone, or not what it said)."""


class TwilioRequestRejected(TwilioPermanentError):
    """Twilio rejected the request as invalid."""


class TwilioUnexpectedResponse(TwilioPermanentError):
    """Twilio answered in a form Atende cannot read; the request may have been processed."""

    outcome_unknown = True


#: Error codes with a class of their own.
ERROR_CLASSES_BY_CODE: dict[int, type[TwilioError]] = {
    20003: TwilioAuthenticationFailed,
    20429: TwilioRateLimited,
    20500: TwilioUnavailable,
    20503: TwilioUnavailable,
    21211: InvalidRecipient,
    21408: RecipientRegionNotEnabled,
    21610: RecipientOptedOut,
    21614: InvalidRecipient,
    21730: TwilioUnavailable,  # "System under maintenance. Please try again later."
    63016: OutsideWhatsAppWindow,
    63019: MediaNotFetched,  # WhatsApp: "Media failed to download"
    11200: MediaNotFetched,  # "HTTP retrieval failure"
    12300: MediaNotFetched,  # "Invalid Content-Type"
}


def twilio_error(
    *, http_status: int | None, code: int | None, message: str | None = None
) -> TwilioError:
    """The typed error for a Twilio failure, by error code first, then by HTTP status.

    Also usable for the ``ErrorCode`` of a status callback (``http_status=None``): a known
    code gets its class, any other code is permanent.
    """
    error_class = ERROR_CLASSES_BY_CODE.get(code) if code is not None else None
    if error_class is None:
        if http_status == 429:
            error_class = TwilioRateLimited
        elif http_status is not None and http_status >= 500:
            error_class = TwilioUnavailable
        elif http_status == 401:
            error_class = TwilioAuthenticationFailed
        else:
            error_class = TwilioRequestRejected
    return error_class(message, code=code, http_status=http_status)
