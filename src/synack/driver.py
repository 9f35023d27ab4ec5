"""The driver loop: what pumps a Host, on a real or a virtual clock.

Every driver does the same small loop with a Host (see ``Host``'s API):
packets in (``receive_packet``), what is due out (``packets_to_send``), one
timer at ``get_timer()`` that calls ``handle_timer``, and the Host's events
(``next_event``) handed to whoever subscribed. :class:`HostDriver` is that
loop for one Host; subclasses say only where packets go (``transmit``): into a
TUN device (``synack.net``) or onto simulated links (``synack.sim.live``).
``synack.aio`` puts asyncio streams on top of any of them.

The loop reads time from a :class:`Clock`: an asyncio event loop (real time)
satisfies it as it is, and :class:`VirtualClock` is time that moves only
when told, as the simulator's :class:`~synack.sim.network.Network` moves it.

A driver may put an :class:`Impairment` (loss, delay...) between the network
and its Host; the simulator's ``Link`` is one, which is how ``synack listen
--impair`` gets netem's job done without ``synack.net`` importing the
simulator.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from typing import Any, Protocol

from synack.host import Host, HostEvent

MAX_FLUSH_ROUNDS = 64  # events may cause output that causes events: go round until quiet


class Cancellable(Protocol):
    """What ``call_at`` returns: a call that can be called off."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time and scheduled calls: ``asyncio.AbstractEventLoop`` has this shape."""

    def time(self) -> float: ...

    def call_soon(self, callback: Callable[..., object], *args: Any) -> object: ...

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Cancellable: ...


class Impairment(Protocol):
    """What a link does to a packet sent at ``now``: (arrival time, the packet as
    it arrives, fate) for each copy; a negative arrival time means it is lost."""

    def fates(self, now: float, packet: bytes) -> list[tuple[float, bytes, str]]: ...


class ScheduledCall:
    """One call on a :class:`VirtualClock`."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """A :class:`Clock` whose time moves only when told (``now`` is seconds).

    Calls run in the order of their time, then of scheduling. ``run_due``
    runs what is due at ``now``; ``run`` moves the clock from call to call
    until nothing is left (or ``until``). The simulator's Network owns one
    and moves it with its own loop.
    """

    __slots__ = ("_calls", "_counter", "now")

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._calls: list[tuple[float, int, ScheduledCall]] = []
        self._counter = 0

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> ScheduledCall:
        call = ScheduledCall(when, callback, args)
        self._counter += 1
        heapq.heappush(self._calls, (when, self._counter, call))
        return call

    def call_soon(self, callback: Callable[..., object], *args: Any) -> ScheduledCall:
        return self.call_at(self.now, callback, *args)

    def next_time(self) -> float | None:
        """When the next call is due; None when nothing is scheduled."""
        calls = self._calls
        while calls and calls[0][2].cancelled:
            heapq.heappop(calls)
        return calls[0][0] if calls else None

    def run_due(self) -> None:
        """Run every call due by ``now``, with those they schedule for now."""
        calls = self._calls
        while calls and calls[0][0] <= self.now:
            call = heapq.heappop(calls)[2]
            if not call.cancelled:
                call.callback(*call.args)

    def run(self, until: float | None = None) -> None:
        """Move from call to call until none is left, or the next is after ``until``."""
        while (when := self.next_time()) is not None and (until is None or when <= until):
            self.now = max(self.now, when)
            self.run_due()
        if until is not None:
            self.now = max(self.now, until)


class HostSchedule:
    """When each of a set of Hosts must be driven, and in what order: the core
    of every driver loop.

    A Host asks to be driven in two ways: its one deadline (``get_timer``),
    which changes only when the Host is driven (input, output, a timer) or by
    a user call, and its output (the ``on_output`` hook, after a user call).
    The schedule keeps every Host's deadline as last read in a heap (entries
    that no longer match are stale and skipped), so the next deadline costs
    O(log hosts), not a scan; due Hosts and Hosts with output are driven in
    the order they joined, which keeps a run on a virtual clock the same
    every time. :class:`HostDriver` runs it for one Host on any clock; the
    simulator's :class:`~synack.sim.network.Network` for many, on a
    :class:`VirtualClock`, with links between them.
    """

    __slots__ = ("_deadline", "_timers", "order", "pending")

    def __init__(self) -> None:
        self.order: dict[Host, int] = {}  # join order
        self._deadline: dict[Host, float | None] = {}
        self._timers: list[tuple[float, int, Host]] = []
        self.pending: dict[Host, None] = {}  # Hosts that may have output

    def add(self, host: Host) -> None:
        self.order[host] = len(self.order)
        self.pending[host] = None
        self.refresh(host)

    def __contains__(self, host: Host) -> bool:
        return host in self.order

    def __len__(self) -> int:
        return len(self.order)

    def output_ready(self, host: Host) -> None:
        """The ``on_output`` hook: ``host`` has something to send."""
        self.pending[host] = None

    def refresh(self, host: Host) -> None:
        """Read ``host``'s deadline again (after driving it)."""
        t = host.get_timer()
        if t != self._deadline.get(host):
            self._deadline[host] = t
            if t is not None:
                heapq.heappush(self._timers, (t, self.order[host], host))

    def next_deadline(self) -> float | None:
        """The earliest deadline of all the Hosts; None when none has one."""
        timers = self._timers
        deadline = self._deadline
        while timers:
            t, _, host = timers[0]
            if deadline.get(host) == t:
                return t
            heapq.heappop(timers)
        return None

    def run_timers(self, now: float) -> list[Host]:
        """Call ``handle_timer`` on every Host whose deadline has come, in join
        order; they then have output pending. Returns them."""
        t = self.next_deadline()
        if t is None or t > now:
            return []  # the usual case: nothing due
        due: list[tuple[int, Host]] = []
        timers = self._timers
        deadline = self._deadline
        while (t := self.next_deadline()) is not None and t <= now:
            _, index, host = heapq.heappop(timers)
            del deadline[host]  # read again below
            due.append((index, host))
        if len(due) > 1:
            due.sort(key=_join_order)
        fired: list[Host] = []
        for _, host in due:
            t = host.get_timer()
            if t is not None and t <= now:
                host.handle_timer(now)
                self.pending[host] = None
                fired.append(host)
            self.refresh(host)
        return fired

    def take_pending(self) -> list[Host]:
        """The Hosts that may have output, in join order; none is pending after."""
        pending = self.pending
        hosts = list(pending) if len(pending) == 1 else sorted(pending, key=self.order.__getitem__)
        pending.clear()
        return hosts


def _join_order(item: tuple[int, Host]) -> int:
    return item[0]


class HostDriver:
    """One Host on a clock: input, output, its one timer and its events.

    Output goes in batches: after input (at the clock's next turn, so that
    what the application does about the events leaves with the ACKs), after
    the timer, and after a user call (the Host's ``on_output`` hook).
    """

    def __init__(self, host: Host, clock: Clock | None = None) -> None:
        self.host = host
        self.clock: Clock = clock if clock is not None else asyncio.get_running_loop()
        self._epoch = self.clock.time()
        self._timer: Cancellable | None = None
        self._timer_at: float | None = None
        self._flush_pending = False
        self._subscribers: list[Callable[[HostEvent], None]] = []
        self._after_flush: list[Callable[[], None]] = []
        self.closed = False
        self.schedule = HostSchedule()
        self.schedule.add(host)
        host.on_output = self._output_ready

    def now(self) -> float:
        """The Host's clock: seconds since the driver started."""
        return self.clock.time() - self._epoch

    def subscribe(
        self, on_event: Callable[[HostEvent], None], after_flush: Callable[[], None] | None = None
    ) -> None:
        """``on_event`` gets every Host event; ``after_flush`` runs after each flush."""
        self._subscribers.append(on_event)
        if after_flush is not None:
            self._after_flush.append(after_flush)

    def receive(self, packets: list[bytes]) -> None:
        """Packets from the network. Events go to the subscribers now, the output
        at the clock's next turn."""
        now = self.now()
        receive = self.host.receive_packet
        for packet in packets:
            receive(packet, now)
        self._dispatch()
        self._flush_soon()

    def flush(self) -> None:
        """Send what is due, hand events on, and set the one timer."""
        self._flush_pending = False
        if self.closed:
            return
        host = self.host
        for _ in range(MAX_FLUSH_ROUNDS):
            packets = host.packets_to_send(self.now()) if host.has_output else []
            if packets:
                self.transmit(packets)
            dispatched = self._dispatch()
            if not packets and not dispatched:
                break
        for hook in self._after_flush:
            hook()
        self._reschedule()

    def transmit(self, packets: list[bytes]) -> None:
        """Put the Host's packets on the network: what a subclass is for."""
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self.host.on_output = None

    def _dispatch(self) -> bool:
        any_event = False
        while (event := self.host.next_event()) is not None:
            any_event = True
            for subscriber in self._subscribers:
                subscriber(event)
        return any_event

    def _output_ready(self, host: Host) -> None:
        self._flush_soon()

    def _flush_soon(self) -> None:
        if not self._flush_pending and not self.closed:
            self._flush_pending = True
            self.clock.call_soon(self.flush)

    def _reschedule(self) -> None:
        self.schedule.refresh(self.host)
        deadline = self.schedule.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = (
            None if deadline is None else self.clock.call_at(self._epoch + deadline, self._on_timer)
        )

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self.schedule.run_timers(max(self.now(), 0.0))
        self.flush()
