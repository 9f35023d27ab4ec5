"""The words of the trace views (ladder, HTML page, summaries) in English and Korean.

Protocol terms stay as they are in every language: flags (``S.``), segment
names (SYN, ACK, FIN, RST), RFC 9293 state names (ESTABLISHED), user calls
(OPEN, CLOSE, ABORT), option names (mss, sackOK, TS, wscale, FO) and tcpdump's
field names (seq, ack, len, win). Everything else a view shows comes from
here: :func:`ui` for the fixed strings, and :func:`cause`, :func:`timer`,
:func:`call`, :func:`fate` for the words the engine and the links record.
A phrase with no translation is shown as recorded.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "ko")

_UI: dict[str, tuple[str, str]] = {
    # ladder
    "time_header": ("t (ms)", "시각 (ms)"),
    "times_in_ms": ("times in ms", "시각 단위 ms"),
    "relative_seq": ("relative sequence numbers", "상대 순서 번호"),
    "absolute_seq": ("absolute sequence numbers", "절대 순서 번호"),
    "isn_of": ("{name} ISN {isn}", "{name} ISN {isn}"),
    "from_segments": (
        "arrows drawn from the segments each side sent (no link record)",
        "화살표는 양쪽이 보낸 세그먼트로 그렸습니다 (링크 기록 없음)",
    ),
    "lost": ("LOST", "손실"),
    # prose (the HTML page's step text)
    "ms": ("{t} ms", "{t} ms"),
    "lost_on_the_way": ("lost on the way ({why})", "가는 도중 손실 ({why})"),
    "arrives_at": ("arrives at {t} ms", "{t} ms에 도착"),
    "timer_fires": ("{side}'s {timer} timer fires", "{side}의 {timer} 타이머 만료"),
    "calls": ("{side} calls {call}", "{side}: {call} 호출"),
    "timer_label": ("timer: {timer}", "타이머: {timer}"),
    # HTML controls
    "prev": ("Prev", "이전"),
    "next": ("Next", "다음"),
    "prev_title": ("previous step (\u2190)", "이전 단계 (\u2190)"),
    "next_title": ("next step (\u2192)", "다음 단계 (\u2192)"),
    "step_of": ("step {k} of {n}", "{n}단계 중 {k}단계"),
    "before_first": ("before the first step", "첫 단계 전"),
    "hint_keys": (
        "\u2190 \u2192 or Prev/Next to step; click a row to jump.",
        "\u2190 \u2192 키나 이전/다음 버튼으로 한 단계씩, 행을 누르면 그 단계로 갑니다.",
    ),
    "ladder_aria": ("ladder diagram", "래더 다이어그램"),
    "page_title": ("synack: {left} and {right}", "synack: {left}와 {right}"),
    # summaries
    "wrote": ("wrote {path}", "{path} 작성"),
    "wrote_html": ("wrote the HTML page {path}", "HTML 페이지 {path} 작성"),
    "wrote_pcap": ("wrote {count} packets to {path}", "패킷 {count}개를 {path}에 기록"),
    "wrote_plot": ("wrote the plot {path}", "그래프 {path} 작성"),
    "steps_summary": (
        "{steps} steps: {packets} packets ({lost} lost), {states} state changes, "
        "{virtual} ms of virtual time",
        "{steps}단계: 패킷 {packets}개 (손실 {lost}개), 상태 변화 {states}번, "
        "가상 시간 {virtual} ms",
    ),
    "final_states": ("final states: {left} {a}, {right} {b}", "최종 상태: {left} {a}, {right} {b}"),
    "ladder_hint": (
        "the ladder: add --format ladder",
        "래더를 보려면 --format ladder를 붙이세요",
    ),
}

_NAMES_KO = {"client": "클라이언트", "server": "서버"}

_FATES_KO = {
    "lost": "손실",
    "dropped": "폐기",
    "duplicated": "중복",
    "dup": "중복",
    "reordered": "순서 바뀜",
    "delayed": "지연",
    "corrupted": "손상",
    "unroutable": "경로 없음",
    "too-big": "MTU 초과",
    "old": "오래됨",
    "delivered": "전달",
    "sent": "보냄",
}

_TIMERS_KO = {
    "retransmission": "재전송",
    "delayed ACK": "지연 ACK",
    "tail loss probe": "꼬리 손실 탐지",
    "RACK reordering": "RACK 순서 바뀜",
    "keep-alive": "keep-alive",
    "persist": "지속",
    "user timeout": "사용자 시간 초과",
    "2MSL": "2MSL",
    "FIN-WAIT-2": "FIN-WAIT-2",
}

_PHRASES_KO = {
    "2MSL timeout": "2MSL 만료",
    "SYN cookie valid": "SYN 쿠키 유효",
    "active OPEN": "능동 OPEN",
    "passive OPEN": "수동 OPEN",
    "half-open entry expired": "반열림 항목 만료",
    "simultaneous close": "동시 종료",
    "simultaneous open": "동시 열기",
    "connection refused": "연결 거부",
    "active": "능동",
    "passive": "수동",
    "half": "반종료",
    "the window": "윈도 안",
    "user timeout": "사용자 시간 초과",
    "keep-alive timeout": "keep-alive 시간 초과",
    "retransmission timeout": "재전송 시간 초과",
    "FIN-WAIT-2 timeout": "FIN-WAIT-2 시간 초과",
    "host crashed": "호스트 다운",
}

_RCV = re.compile(r"rcv (?P<what>[A-Z,+ ]+?)(?: of (?P<of>[A-Z,]+))?(?: in (?P<where>.+))?$")
_PORT = re.compile(r"(?P<head>.+), port (?P<port>\d+)$")
_PAREN = re.compile(r"(?P<head>.*?) \((?P<inner>[^()]*)\)$")


def check(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: choose from {', '.join(LANGUAGES)}")
    return lang


def ui(key: str, lang: str = "en", **values: object) -> str:
    """The UI string ``key`` in ``lang``, with ``values`` filled in."""
    text = _UI[key][LANGUAGES.index(check(lang))]
    return text.format(**values) if values else text


def name(endpoint: str, lang: str = "en") -> str:
    """An endpoint's name as shown: ``client`` is 클라이언트 in Korean."""
    return _NAMES_KO.get(endpoint, endpoint) if lang == "ko" else endpoint


def fate(word: str, lang: str = "en") -> str:
    """A packet's fate word (``lost``, ``dup``, ``reordered``...)."""
    return _FATES_KO.get(word, word) if lang == "ko" else word


def timer(text: str, lang: str = "en") -> str:
    return _TIMERS_KO.get(text, text) if lang == "ko" else text


def _phrase(text: str) -> str:
    """A cause or call in Korean, piece by piece; unknown pieces stay as they are."""
    if text in _PHRASES_KO:
        return _PHRASES_KO[text]
    paren = _PAREN.match(text)
    if paren:
        return f"{_phrase(paren['head'])} ({_phrase(paren['inner'])})"
    port = _PORT.match(text)
    if port:
        return f"{_phrase(port['head'])}, 포트 {port['port']}"
    rcv = _RCV.match(text)
    if rcv:
        what = rcv["what"] if rcv["of"] is None else f"{rcv['of']}의 {rcv['what']}"
        where = f"{_phrase(rcv['where'])}에서 " if rcv["where"] else ""
        return f"{where}{what} 수신"
    return text


def cause(text: str, lang: str = "en") -> str:
    """Why a state changed, as the engine recorded it (``rcv ACK of SYN``)."""
    return _phrase(text) if lang == "ko" else text


def call(text: str, lang: str = "en") -> str:
    """A user call (``OPEN (active)``, ``CLOSE``)."""
    return _phrase(text) if lang == "ko" else text


def fact(key: str, lang: str = "en") -> str:
    """A fact a scenario reports (``bytes sent``...)."""
    return _FACTS_KO.get(key, key) if lang == "ko" else key


_FACTS_KO = {
    "bytes sent": "보낸 바이트",
    "bytes delivered": "전달된 바이트",
    "intact (sha256)": "손상 없음 (sha256)",
    "packets lost on the links": "링크에서 잃은 패킷",
    "retransmitted segments": "재전송한 세그먼트",
    "fast retransmits": "빠른 재전송",
    "retransmission timeouts": "재전송 시간 초과",
    "SYN cookies sent": "보낸 SYN 쿠키",
    "SYN cookies validated": "검증된 SYN 쿠키",
    "half-open entries expired": "만료된 반열림 항목",
    "losses found by RACK": "RACK으로 찾은 손실",
    "tail loss probes": "꼬리 손실 탐지",
    "congestion control": "혼잡 제어",
    "client ISN": "클라이언트 ISN",
    "server ISN": "서버 ISN",
    "bytes delivered intact": "손상 없이 전달된 바이트",
    "first reply, 1st connection (ms after connect)": "첫 번째 연결의 첫 응답 (연결 시작 뒤 ms)",
    "first reply, 2nd connection (ms after connect)": "두 번째 연결의 첫 응답 (연결 시작 뒤 ms)",
    "Fast Open SYNs accepted": "받아들인 패스트 오픈 SYN",
    "yes": "예",
    "no": "아니요",
}
