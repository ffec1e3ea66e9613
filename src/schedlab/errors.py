"""One exception root for everything a user can get wrong.

Every error that a bad input, option or file can cause is a :class:`SchedlabError`.  The CLI
turns a ``SchedlabError`` into a one-line message and exit status 2; any other exception is a
bug in schedlab and surfaces with its traceback.  ``SchedlabError`` subclasses ``ValueError`` so
that code written against the earlier, per-module errors keeps working.

Domain errors are declared here, one place, and re-exported by the modules that raise them.
"""

from __future__ import annotations


class SchedlabError(ValueError):
    """Root of every user-facing error: the message is one line that says what to change."""


class OptionError(SchedlabError):
    """An option value outside its allowed set or range (the message names the option)."""


class PolicyError(SchedlabError):
    """A policy spec that does not resolve (unknown name, bad expression, unreadable model or tree)."""


class DataNotFound(SchedlabError, FileNotFoundError):
    """A dataset or file is not in any of the places schedlab looks; the message says where it looked."""


class DownloadError(SchedlabError, OSError):
    """A download that failed (HTTP status, network); the message names the URL."""


class ChecksumMismatch(SchedlabError):
    """A downloaded or cached file whose SHA-256 differs from the pinned one; the message names the
    file, the expected and the received hash."""


class UnverifiedDownload(SchedlabError):
    """Files with no pinned SHA-256, refused unless the caller opts in (``--allow-unverified``)."""


# workload ---------------------------------------------------------------------------------------
class TraceFormatError(SchedlabError):
    """A malformed trace line; the message names the file, the line number and the field."""


# cluster ----------------------------------------------------------------------------------------
class ClusterError(SchedlabError):
    """A machine description (TOML, slurm.conf, node list) that cannot be used; the message names
    the file and the entry."""


# analytics --------------------------------------------------------------------------------------
class JobFormatError(SchedlabError):
    """The job file cannot be read as the requested format; the message names file, column and row."""


class HostlistError(SchedlabError):
    """A Slurm hostlist that does not parse (unbalanced brackets, bad range)."""


class TelemetryFormatError(SchedlabError):
    """A telemetry or hardware file that cannot be read; the message names the file and column."""


class ClassRuleError(SchedlabError):
    """A ``--class-rule`` that is not a valid boolean expression over the job columns."""


# elastic (BFTrainer) ----------------------------------------------------------------------------
class IdleTraceError(SchedlabError):
    """An idle-node trace or idle-trace spec that cannot be used."""


class TrainerError(SchedlabError):
    """A trainer description that cannot be scheduled (bad bounds, unknown model, ...)."""


# energy -----------------------------------------------------------------------------------------
class ProfileError(SchedlabError):
    """Unknown GPU model, queue or app, or a profile table that cannot be used."""


class ScheduleError(SchedlabError):
    """A policy asked for something the node cannot do (unknown job, too many GPUs, ...)."""


class OpenError(SchedlabError):
    """Bad input to OPEN (a fraction out of range, a mode that does not exist, malformed data)."""


class UnknownApp(OpenError):
    """An application name that is not in the matrix; the message lists the known ones."""


class EcoShiftError(SchedlabError):
    """Bad input to EcoShift (shapes, an unknown policy, a grid off the 10 W units)."""


class InfeasibleCap(EcoShiftError):
    """The cap is below what the nodes draw at their cheapest pairs."""


# rl ---------------------------------------------------------------------------------------------
class ModelFormatError(SchedlabError):
    """A trained-model (or training-state) file that cannot be used: not a checkpoint, options out of
    range, weights that do not fit the network its options build; the message names the file."""


__all__ = [
    "ChecksumMismatch",
    "ClassRuleError",
    "DataNotFound",
    "DownloadError",
    "EcoShiftError",
    "HostlistError",
    "IdleTraceError",
    "InfeasibleCap",
    "JobFormatError",
    "ModelFormatError",
    "OpenError",
    "OptionError",
    "PolicyError",
    "ProfileError",
    "SchedlabError",
    "ScheduleError",
    "TelemetryFormatError",
    "TraceFormatError",
    "TrainerError",
    "UnknownApp",
    "UnverifiedDownload",
]
