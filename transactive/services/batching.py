"""Group commit for asyncio: what is submitted during one turn of the event loop is handled together.

Both users write to the store: :class:`~.service.VtnService` (the writing requests that arrive together,
one store transaction and one fsync for all) and :class:`~.settlement.Settlement` (the settlement steps its
concurrent workers log). Each submitter awaits its own result, which is only set once the whole batch has
been handled (committed), so an acknowledged item is as durable as if it had been written alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["TurnBatcher"]

T = TypeVar("T")
R = TypeVar("R")


class TurnBatcher(Generic[T, R]):
    """Items :meth:`submit`-ted during one turn of the event loop go to ``run(items)`` together, on a later
    turn (a task). ``run`` returns one result per item, in order; an :class:`Exception` among them is raised
    to that item's submitter only. If ``run`` itself raises (a bug), every submitter of the batch gets the
    error and the task re-raises it."""

    def __init__(self, run: Callable[[list[T]], Sequence[R | Exception]], *, name: str) -> None:
        self._run = run
        self.name = name
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self.task: asyncio.Task[None] | None = None  #: the flush to come, if any
        self.batches = 0  #: batches handled so far (for tests and benchmarks)
        self.items = 0  #: items handled through them

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue ``item`` for the next batch; the future is done once that batch was handled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self.task is None or self.task.done():  # (done: cancelled before it ran, as at loop shutdown)
            # a task runs on a later turn of the loop: everything submitted in this turn joins the batch
            self.task = loop.create_task(self._flush(), name=self.name)
        return future

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self.task = None
        try:
            results = self._run([item for item, _future in batch])
        except BaseException as exc:  # nobody may wait forever
            for _item, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(f"{self.name} stopped"))
            raise
        self.batches += 1
        self.items += len(batch)
        for (_item, future), result in zip(batch, results, strict=True):
            if future.done():  # its submitter went away (cancelled); what was written stands
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
