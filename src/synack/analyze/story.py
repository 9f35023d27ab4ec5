"""A connection's story in one paragraph, for learners: what happened, in words.

Made from what the passive inference found (``flows.py``): who opened, how
long the handshake took as the capture saw it, who closed first, whether a
FIN rode with an ACK, who waited in TIME-WAIT, resets and retransmissions.
English and Korean.
"""

from __future__ import annotations

from synack.analyze.flows import Flow
from synack.trace.records import PacketRecord, StateRecord


def _ms(seconds: float) -> str:
    value = seconds * 1000.0
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def story(flow: Flow, lang: str = "en", retransmissions: int = 0) -> str:
    """One paragraph about ``flow`` (which must have kept its records)."""
    ko = lang == "ko"
    states = [r for r in flow.records if isinstance(r, StateRecord)]
    packets = [r for r in flow.records if isinstance(r, PacketRecord)]
    left, right = flow.left, flow.right
    parts: list[str] = []

    def first(endpoint: str | None, new: str) -> StateRecord | None:
        return next(
            (r for r in states if r.new == new and (endpoint is None or r.endpoint == endpoint)),
            None,
        )

    if flow.opener is None:
        parts.append(
            "캡처가 연결 도중에 시작되어, 처음 상태는 알 수 없습니다."
            if ko
            else "The capture began mid-connection, so the first states are unknown."
        )
    syn = next((p for p in packets if p.flags == "S" and p.src == left), None)
    done = first(right, "ESTABLISHED")
    refused = next((r for r in states if r.endpoint == left and "refused" in r.cause), None)
    if refused is not None:
        parts.append(
            f"{right}가 연결을 거부했습니다 (SYN에 RST로 답함)."
            if ko
            else f"{right} refused the connection: it answered the SYN with a RST."
        )
    elif syn is not None and done is not None:
        took = _ms(done.t - syn.t)
        parts.append(
            f"{left}가 연결을 열었고, 3-way 핸드셰이크는 {took} ms 걸렸습니다."
            if ko
            else f"{left} opened the connection; the 3-way handshake took {took} ms."
        )
    closer = first(None, "FIN-WAIT-1")
    if closer is not None:
        other = right if closer.endpoint == left else left
        parts.append(
            f"{closer.endpoint}가 먼저 종료했습니다." if ko else f"{closer.endpoint} closed first."
        )
        if "combined" in flow.notes:
            parts.append(
                f"{other}는 FIN을 ACK와 함께 보냈습니다."
                if ko
                else f"{other} combined its FIN with its ACK."
            )
        if first(None, "CLOSING") is not None:
            parts.append(
                "두 FIN이 엇갈렸습니다: 동시 종료입니다."
                if ko
                else "The FINs crossed: a simultaneous close."
            )
    for side in (left, right):
        if first(side, "TIME-WAIT") is not None:
            parts.append(
                f"{side}는 TIME-WAIT에서 기다렸습니다." if ko else f"{side} waited in TIME-WAIT."
            )
    reset = next((r for r in states if r.cause.startswith("send RST")), None)
    if reset is not None and refused is None:
        parts.append(
            f"{reset.endpoint}가 RST로 연결을 리셋했습니다."
            if ko
            else f"{reset.endpoint} reset the connection with a RST."
        )
    if retransmissions:
        parts.append(
            f"재전송된 세그먼트가 {retransmissions}개 있었습니다."
            if ko
            else f"{retransmissions} segment(s) were retransmitted."
        )
    if not parts:
        parts.append(
            f"패킷 {flow.packets}개가 보였습니다." if ko else f"{flow.packets} packet(s) were seen."
        )
    return " ".join(parts)
