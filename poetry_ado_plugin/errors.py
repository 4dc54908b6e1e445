"""One small hierarchy of errors the user can act on.

Every message is one line that names the problem and the fix. Commands turn these into that line
and a non-zero exit in one place (``commands.base``); messages never carry a secret."""

from __future__ import annotations

import signal


class AdoError(Exception):
    """An error the user can act on. ``exit_code`` is what the command exits with."""

    exit_code = 1


class UsageError(AdoError):
    """Options or arguments that do not fit together."""


class FeedUrlError(AdoError):
    """A URL or name that is not a valid Azure Artifacts PyPI feed."""


class PyprojectError(AdoError):
    """pyproject.toml is missing, unreadable or not valid TOML."""

    @classmethod
    def missing(cls, directory: object) -> PyprojectError:
        """No pyproject.toml in ``directory`` (the project directory) or its parents."""
        return cls(
            f"no pyproject.toml in {directory} or its parents: run the command in your "
            "project's directory or pass -C/--directory"
        )


class SourceConflictError(AdoError):
    """The change would clash with a source that is already configured."""


class ConfigError(AdoError):
    """Poetry's configuration could not be read or written."""


class CredentialError(AdoError):
    """A token could not be found, verified, stored or removed."""


class FeedResponseError(AdoError):
    """The feed answered with an error; the message decodes it."""


class AzureCliError(CredentialError):
    """The Azure CLI is missing, not logged in, or answered something unexpected."""


class AzureIdentityError(CredentialError):
    """azure-identity is missing, or none of its credentials gave a token."""


class TokenRejectedError(CredentialError):
    """401/203/sign-in redirect: the feed did not accept the token."""


class NoFeedAccessError(CredentialError):
    """403: the identity is valid but may not read the feed."""


class NameProblemError(AdoError):
    """check-name's basic checks found a problem with the project's name."""


class DistFileError(UsageError):
    """A file in dist/ that cannot be published as the project's current version."""


class VersionExistsError(FeedResponseError):
    """The feed already has (or once had) this version's files."""


class Interrupted(AdoError):
    """Ctrl-C or SIGTERM ended the command; it exits 128 + the signal number, as a shell would."""

    @classmethod
    def by(cls, number: int, what: str) -> Interrupted:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        error = cls(f"interrupted by {name} {what}")
        error.exit_code = 128 + number
        return error
