"""The TCP state machine as data (RFC 9293 section 3.3.2, figure 5).

``TRANSITIONS`` maps (state, stimulus) to the next state. The engine moves
only along these edges, and ``synack states`` draws the diagram from them.
Which stimulus applies (for example, whether an ACK covers our FIN) is the
engine's decision; where the state goes next is this table's.
"""

from __future__ import annotations

from enum import Enum

from synack.tcp.state_error import IllegalTransition as IllegalTransition  # re-exported


class State(Enum):
    """The eleven states, with the names RFC 9293 gives them."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    # Members are singletons: hash by identity, in C, rather than Enum's
    # Python-level hash of the name (states are looked up on every segment).
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.value

    @property
    def synchronized(self) -> bool:
        """ESTABLISHED and later: both ISNs are known (RFC 9293 3.5.2)."""
        return self not in _UNSYNCHRONIZED


_UNSYNCHRONIZED = frozenset({State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED})


class Stimulus(Enum):
    """What moves a connection from one state to another."""

    __hash__ = object.__hash__

    OPEN_ACTIVE = "active OPEN / send SYN"
    OPEN_PASSIVE = "passive OPEN"
    RCV_SYN = "rcv SYN / send SYN,ACK"
    RCV_SYN_ACK = "rcv SYN,ACK / send ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    CLOSE = "CLOSE / send FIN"
    RCV_FIN = "rcv FIN / send ACK"
    RCV_FIN_ACK_OF_FIN = "rcv FIN + ACK of FIN / send ACK"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    TIMEOUT_2MSL = "timeout = 2MSL"
    RCV_RST = "rcv RST"
    RETURN_TO_LISTEN = "rcv RST or SYN (passive open)"
    ABORT = "ABORT / send RST"
    TIMEOUT = "user timeout or retransmission limit"
    DELETE = "CLOSE / delete TCB"


S = State
T = Stimulus

TRANSITIONS: dict[tuple[State, Stimulus], State] = {
    (S.CLOSED, T.OPEN_ACTIVE): S.SYN_SENT,
    (S.CLOSED, T.OPEN_PASSIVE): S.LISTEN,
    (S.LISTEN, T.RCV_SYN): S.SYN_RECEIVED,
    (S.LISTEN, T.DELETE): S.CLOSED,
    (S.LISTEN, T.OPEN_ACTIVE): S.SYN_SENT,  # SEND or active OPEN in LISTEN (3.10.1, 3.10.2)
    (S.SYN_SENT, T.RCV_SYN_ACK): S.ESTABLISHED,
    (S.SYN_SENT, T.RCV_SYN): S.SYN_RECEIVED,  # simultaneous open
    (S.SYN_SENT, T.DELETE): S.CLOSED,
    (S.SYN_SENT, T.RCV_RST): S.CLOSED,
    (S.SYN_RECEIVED, T.RCV_ACK_OF_SYN): S.ESTABLISHED,
    (S.SYN_RECEIVED, T.CLOSE): S.FIN_WAIT_1,
    (S.SYN_RECEIVED, T.RCV_FIN): S.CLOSE_WAIT,
    (S.SYN_RECEIVED, T.RETURN_TO_LISTEN): S.LISTEN,
    (S.SYN_RECEIVED, T.RCV_RST): S.CLOSED,
    (S.ESTABLISHED, T.CLOSE): S.FIN_WAIT_1,
    (S.ESTABLISHED, T.RCV_FIN): S.CLOSE_WAIT,
    (S.ESTABLISHED, T.RCV_RST): S.CLOSED,
    (S.FIN_WAIT_1, T.RCV_ACK_OF_FIN): S.FIN_WAIT_2,
    (S.FIN_WAIT_1, T.RCV_FIN): S.CLOSING,  # simultaneous close
    (S.FIN_WAIT_1, T.RCV_FIN_ACK_OF_FIN): S.TIME_WAIT,
    (S.FIN_WAIT_1, T.RCV_RST): S.CLOSED,
    (S.FIN_WAIT_2, T.RCV_FIN): S.TIME_WAIT,
    (S.FIN_WAIT_2, T.RCV_RST): S.CLOSED,
    (S.CLOSE_WAIT, T.CLOSE): S.LAST_ACK,
    (S.CLOSE_WAIT, T.RCV_RST): S.CLOSED,
    (S.CLOSING, T.RCV_ACK_OF_FIN): S.TIME_WAIT,
    (S.CLOSING, T.RCV_RST): S.CLOSED,
    (S.LAST_ACK, T.RCV_ACK_OF_FIN): S.CLOSED,
    (S.LAST_ACK, T.RCV_RST): S.CLOSED,
    (S.TIME_WAIT, T.TIMEOUT_2MSL): S.CLOSED,
    (S.TIME_WAIT, T.RCV_RST): S.CLOSED,  # only with RFC 1337 protection turned off
}

# ABORT and the timeouts lead from any state that has a TCB to CLOSED.
for _state in State:
    if _state is not State.CLOSED:
        TRANSITIONS.setdefault((_state, Stimulus.ABORT), State.CLOSED)
        TRANSITIONS.setdefault((_state, Stimulus.TIMEOUT), State.CLOSED)


def next_state(state: State, stimulus: Stimulus) -> State:
    try:
        return TRANSITIONS[(state, stimulus)]
    except KeyError:
        raise IllegalTransition(f"no transition from {state} on {stimulus.name}") from None
