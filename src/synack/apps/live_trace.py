"""A live view of a TUN driver's traffic: ladder lines as segments cross, and a
pcap at the end (``synack listen --ladder --pcap``)."""

from __future__ import annotations

from rich.console import Console

from synack.net.driver import TunDriver
from synack.trace.ladder import ladder_lines
from synack.trace.pcap import write_pcap
from synack.trace.records import EndpointTracer, TraceRecorder
from synack.trace.timeline import build_timeline

SYNACK, KERNEL = "synack", "kernel"


class LiveTrace:
    """Records what crosses the TUN device and the Host's state changes; draws
    new ladder lines as they happen and writes a pcap at the end."""

    def __init__(self, ladder: bool, pcap: str | None, console: Console) -> None:
        self.recorder = TraceRecorder()
        self.ladder = ladder
        self.pcap = pcap
        self.console = console
        self._printed = 0

    def tracer(self) -> EndpointTracer:
        """The tracer for the Host: synack's side of the ladder."""
        return self.recorder.endpoint(SYNACK)

    def wrap(self, driver: TunDriver) -> None:
        """Tap the driver's packets both ways."""
        receive, transmit = driver.receive, driver.transmit

        def tapped_receive(packets: list[bytes]) -> None:
            now = driver.now()
            for packet in packets:
                if _is_tcp(packet):  # not the kernel's neighbour discovery and such
                    self.recorder.packet(now, now, KERNEL, SYNACK, "delivered", packet)
            receive(packets)
            self.draw()

        def tapped_transmit(packets: list[bytes]) -> None:
            now = driver.now()
            for packet in packets:
                self.recorder.packet(now, now, SYNACK, KERNEL, "delivered", packet)
            transmit(packets)

        driver.receive = tapped_receive  # type: ignore[method-assign]
        driver.transmit = tapped_transmit  # type: ignore[method-assign]

    def draw(self) -> None:
        if not self.ladder or not self.recorder.records:
            return
        body = ladder_lines(build_timeline(self.recorder.records, SYNACK, KERNEL), footer=False)
        for line in body[self._printed :]:
            self.console.print(line)
        self._printed = max(self._printed, len(body))

    def finish(self) -> None:
        self.draw()
        if self.pcap:
            count = write_pcap(self.recorder, self.pcap)
            self.console.print(f"wrote {count} packets to {self.pcap}", style="dim")


def _is_tcp(packet: bytes) -> bool:
    if not packet:
        return False
    return (packet[9] if packet[0] >> 4 == 4 else packet[6]) == 6 if len(packet) > 9 else False
