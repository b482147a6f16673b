"""Timing a stream: generator and async generator functions under ``@monitor_inference``.

A generator function returns at once; its work happens while it is iterated. So
the wrappers here run the function's generator themselves, passing every item,
``send()``, ``throw()`` and ``close()`` through as ``yield from`` would, and call
``on_end`` once when the stream ends: exhausted, closed early by the consumer (not
an error), or raising (an error; the exception goes on unchanged). The clock starts
with the first ``next()``, when the function's body starts to run; a generator that
is never iterated runs nothing and records nothing.
"""

from __future__ import annotations

__all__ = ["StreamRun", "timed_async_generator", "timed_generator"]

import functools
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from time import perf_counter, time
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")


@dataclass(slots=True)
class StreamRun:
    """One iteration of a timed stream, as ``on_end`` receives it."""

    started_at: float  # epoch seconds, for the metric's timestamp
    started: float  # perf_counter() when the body started running
    first_item: float | None = None  # perf_counter() when the first item came
    items: int = 0  # items passed on to the consumer
    error: bool = False  # the stream raised


def timed_generator(
    func: Callable[P, Generator[Y, S, R]], on_end: Callable[[StreamRun], None]
) -> Callable[P, Generator[Y, S, R]]:
    """Wrap a generator function so that each of its streams is timed to the end."""

    @functools.wraps(func)
    def timed(*args: P.args, **kwargs: P.kwargs) -> Generator[Y, S, R]:
        run = StreamRun(time(), perf_counter())
        try:
            inner = func(*args, **kwargs)
            try:
                item = next(inner)
                run.first_item = perf_counter()
                while True:
                    run.items += 1
                    try:
                        sent = yield item
                    except GeneratorExit:
                        inner.close()  # its own cleanup runs now, inside the timing
                        raise
                    except BaseException as exc:  # thrown in by the consumer: inner decides
                        item = inner.throw(exc)
                    else:
                        item = inner.send(sent)
            except StopIteration as stop:  # the stream is exhausted
                result: R = stop.value
                return result
        except GeneratorExit:
            raise  # the consumer stopped early: not an error
        except BaseException:
            run.error = True
            raise
        finally:
            on_end(run)

    return timed


def timed_async_generator(
    func: Callable[P, AsyncGenerator[Y, S]], on_end: Callable[[StreamRun], None]
) -> Callable[P, AsyncGenerator[Y, S]]:
    """Wrap an async generator function so that each of its streams is timed to the end."""

    @functools.wraps(func)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Y, S]:
        run = StreamRun(time(), perf_counter())
        try:
            inner = func(*args, **kwargs)
            try:
                item = await inner.__anext__()
                run.first_item = perf_counter()
                while True:
                    run.items += 1
                    try:
                        sent = yield item
                    except GeneratorExit:
                        await inner.aclose()
                        raise
                    except BaseException as exc:
                        item = await inner.athrow(exc)
                    else:
                        item = await inner.asend(sent)
            except StopAsyncIteration:
                return
        except GeneratorExit:
            raise
        except BaseException:
            run.error = True
            raise
        finally:
            on_end(run)

    return timed
