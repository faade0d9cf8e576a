"""The small set of domain errors that handlers turn into one localized message."""


class DomainError(Exception):
    """A refusal the user should read; str(error) is already in the reader's language."""


class NotFound(DomainError):
    """The meeting, person or link does not exist (or the reader may not know it does)."""


class NotAllowed(DomainError):
    """The reader may not do this."""


class InvalidInput(DomainError):
    """The input cannot be used; the message says what to send instead."""
