"""What grading one submission may spend; the fields drive the config, the CLI and the cache key."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class Limits:
    """Time, memory and output limits for grading one submission."""

    cell_timeout: float = 60.0
    total_timeout: float = 600.0
    memory_mb: int = 2048
    output_bytes: int = 100_000
    disk_mb: int = 256

    def __post_init__(self):
        for name in names():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number; got {value!r}")

    def as_dict(self) -> dict:
        """The limits by field name."""
        return asdict(self)


def names() -> tuple[str, ...]:
    """The limits' field names, in order."""
    return tuple(f.name for f in fields(Limits))


HELP = {
    "cell_timeout": "Seconds allowed per cell.",
    "total_timeout": "Seconds allowed per notebook.",
    "memory_mb": "Address-space limit of the worker, in MB.",
    "output_bytes": "Output kept per cell, in bytes.",
    "disk_mb": "Disk the worker may fill (scratch, home and temporary files), in MB.",
}
