"""Which events a subscriber wants."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Event, EventName, EventType


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Empty sets mean "any". All given criteria must hold."""

    job_ids: frozenset[int] = field(default_factory=frozenset)
    pgrps: frozenset[int] = field(default_factory=frozenset)
    labels: frozenset[str] = field(default_factory=frozenset)
    users: frozenset[str] = field(default_factory=frozenset)
    names: frozenset[EventName] = field(default_factory=frozenset)
    types: frozenset[EventType] = field(default_factory=frozenset)
    include_callback_runs: bool = False

    def matches(self, event: Event) -> bool:
        if event.type is EventType.CALLBACK and not self.include_callback_runs:
            return False
        return (
            (not self.job_ids or event.job_id in self.job_ids)
            and (not self.pgrps or event.pgrp in self.pgrps)
            and (not self.labels or event.label in self.labels)
            and (not self.users or event.user in self.users)
            and (not self.names or event.name in self.names)
            and (not self.types or event.type in self.types)
        )
