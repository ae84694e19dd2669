"""One flat exception tree: callers catch ``PurposeLineageError`` or one leaf."""

from __future__ import annotations


class PurposeLineageError(Exception):
    """Root of every error this package raises on purpose."""


class SqlAnalysisError(PurposeLineageError):
    """SQL could not be parsed or analysed."""


class TaxonomyError(PurposeLineageError):
    """A data category or data use key is not in the taxonomy."""


class PolicyError(PurposeLineageError):
    """A policy file is broken. ``problems`` lists every finding, each with file and line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PolicyViolationError(PurposeLineageError):
    """Data flowed into a use its purpose forbids. ``violations`` holds the paths."""

    def __init__(self, message: str, violations: list | None = None):
        self.violations = list(violations or [])
        super().__init__(message)


class StoreError(PurposeLineageError):
    """The lineage store failed or is unreachable."""


class DetectionError(PurposeLineageError):
    """Sampling or classifying warehouse values failed."""


class LineageEventError(PurposeLineageError):
    """An OpenLineage event is malformed; the message says where. Nothing of it was stored."""


class PathLimitError(StoreError):
    """A path query found more paths than allowed; the caller must not judge a truncated answer."""


class DataCheckError(PurposeLineageError):
    """A data-level check (Great Expectations) could not run; the guard must fail closed."""


class SuiteNotFoundError(DataCheckError):
    """No expectation suite of that name exists."""


class FingerprintSecretError(DataCheckError):
    """The fingerprint secret is missing, too short, or not the one the fingerprint table was built with."""


class CatalogError(PurposeLineageError):
    """A tags catalog is broken. ``problems`` lists every finding, each with file and line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
