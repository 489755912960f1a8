"""Input rules checked before anything is written, with the field each failure names.

The database enforces the same rules (constraints and the functions' checks); checking
here first gives every field a clear message and spares the identity provider a call that
could only fail.
"""

from __future__ import annotations

import re

from atende.identity.errors import InvalidInput

#: The shape the database accepts (profiles_email_format, private.normalize_email).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
#: bcrypt reads at most 72 bytes; Supabase Auth refuses longer passwords too.
MAX_PASSWORD_BYTES = 72
MAX_FULL_NAME_LENGTH = 200
MAX_ORGANIZATION_NAME_LENGTH = 120


def normalize_email(value: str, field: str = "email") -> str:
    """The address trimmed and lowercased, as Supabase Auth stores it."""
    email = value.strip().lower()
    if not email:
        raise InvalidInput(field, "Informe o e-mail.")
    if len(email) > MAX_EMAIL_LENGTH or _EMAIL.fullmatch(email) is None:
        raise InvalidInput(field, "Informe um e-mail válido, como nome@empresa.com.br.")
    return email


def require_name(value: str, field: str, *, max_length: int) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput(field, "Este campo é obrigatório.")
    if len(name) > max_length:
        raise InvalidInput(field, f"Use no máximo {max_length} caracteres.")
    return name


def require_password(value: str, field: str = "password") -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            field, f"A senha precisa ter pelo menos {MIN_PASSWORD_LENGTH} caracteres."
        )
    if len(value.encode()) > MAX_PASSWORD_BYTES:
        raise InvalidInput(field, f"A senha pode ter no máximo {MAX_PASSWORD_BYTES} bytes.")
    return value
