/* synack playground: the page around synack's Python, which Pyodide runs here.

   Python (synack.web.playground) runs each setup and draws the ladder (the
   same SVG as `synack demo --html`); this file loads the runtime, keeps the
   setup in the URL fragment, steps through the runs, draws the state
   diagrams and the cwnd plot, and turns a click on a segment into a fault.
   docs/playground.md lists the URL keys. */
(function () {
  "use strict";

  var WORDS = {
    en: {
      title: "synack playground", tagline: "RFC 9293 TCP, running in this page.",
      loading: "Loading Python (Pyodide)…", loading_synack: "Loading synack…",
      ready: "Ready: synack {version} on Pyodide {pyodide} (Python {python}).",
      running: "Running…", ran: "Ran in {ms} ms.", failed: "Could not run: {error}",
      no_runtime: "The Pyodide runtime did not load ({error}). Serve this site over http (synack web, or any web server).",
      scenario: "Scenario", compose: "Composer: your own", linkdelay: "Link delay (ms)", msl: "MSL (s)",
      seed: "Seed", run: "Run", clear_faults: "Undo changes", composer: "Composer",
      req: "Client sends (bytes)", cend: "then the client", cat: "at (ms)",
      reply: "Server replies (bytes)", send: "on end of stream the server", loss: "Loss (%)",
      ts: "timestamps", ws: "window scaling",
      hint: "Click a segment (or focus it with Tab and press Enter) to drop, delay or duplicate it: the run is done again from that change, beside the first. Hover or focus a segment for every field; ← → step.",
      prev: "Prev", next: "Next", step_of: "step {k} of {n}", before: "before the first step",
      segment: "Segment", drop: "Drop it", delay: "Delay it", dup: "Duplicate it", cancel: "Cancel",
      by_ms: "by (ms)", same_cli: "The same run on the command line",
      toml: "composed.toml (the composer's scenario file)",
      capture: "Open a capture",
      capture_help: "Drop a pcap or pcapng file here, or choose one: synack analyze's code reads it, in this page.",
      footer: "The engine is synack's own Python, run by Pyodide (CPython compiled to WebAssembly) from this site's files: nothing is sent anywhere.",
      as_given: "As given", before_change: "Before the change", with_change: "With: {change}",
      f_drop: "drop", f_delay: "delay", f_duplicate: "duplicate",
      states: "{name}", path: "path", cwnd: "cwnd and ssthresh (bytes) over time (ms)",
      field_endpoint: "from", field_flags: "flags", field_seq: "seq (relative)", field_ack: "ack (relative)",
      field_abs_seq: "seq (absolute)", field_abs_ack: "ack (absolute)", field_len: "len",
      field_win: "window", field_win_bytes: "window (bytes)", field_options: "options",
      field_sent: "sent (ms)", field_arrival: "arrives (ms)", field_fate: "fate", field_spec: "fault spec",
      never: "never",
      analysing: "Analysing {name}…", cap_too_big: "{name} ({mb} MB) is too big for the page (256 MB at most): use synack analyze on it.", cap_summary: "{name}: {n} connection(s), {segments} TCP segment(s) ({format})",
      cap_conn: "connection {n}: {left} → {right}, {packets} packets, Zeek {zeek}, final {final}",
      close: "close", shutdown: "shutdown", abort: "abort", none: "nothing",
      "close-later": "close 50 ms later"
    },
    ko: {
      title: "synack 플레이그라운드", tagline: "이 페이지 안에서 돌아가는 RFC 9293 TCP.",
      loading: "Python(Pyodide)을 불러오는 중…", loading_synack: "synack을 불러오는 중…",
      ready: "준비 완료: Pyodide {pyodide}(Python {python}) 위의 synack {version}.",
      running: "실행 중…", ran: "{ms} ms 만에 실행했습니다.", failed: "실행할 수 없습니다: {error}",
      no_runtime: "Pyodide 런타임을 불러오지 못했습니다 ({error}). 이 사이트를 http로 제공하세요 (synack web 또는 아무 웹 서버).",
      scenario: "시나리오", compose: "작성기: 직접 만들기", linkdelay: "링크 지연 (ms)", msl: "MSL (초)",
      seed: "시드", run: "실행", clear_faults: "변경 취소", composer: "작성기",
      req: "클라이언트가 보낼 바이트", cend: "그다음 클라이언트는", cat: "시각 (ms)",
      reply: "서버가 답할 바이트", send: "스트림 끝에서 서버는", loss: "손실 (%)",
      ts: "타임스탬프", ws: "윈도 스케일",
      hint: "세그먼트를 누르면(또는 Tab으로 포커스하고 Enter) 그 세그먼트를 버리거나, 늦추거나, 복제할 수 있습니다. 그 변경부터 다시 실행한 결과가 옆에 나란히 나옵니다. 세그먼트에 마우스를 올리거나 포커스하면 모든 필드가 보입니다. ← → 키로 한 단계씩.",
      prev: "이전", next: "다음", step_of: "{n}단계 중 {k}단계", before: "첫 단계 전",
      segment: "세그먼트", drop: "버리기", delay: "늦추기", dup: "복제하기", cancel: "취소",
      by_ms: "지연 (ms)", same_cli: "명령줄에서 같은 실행",
      toml: "composed.toml (작성기의 시나리오 파일)",
      capture: "캡처 열기",
      capture_help: "pcap 또는 pcapng 파일을 여기에 끌어다 놓거나 고르세요. 이 페이지 안에서 synack analyze의 코드가 읽습니다.",
      footer: "엔진은 synack 자신의 Python 코드이며, 이 사이트의 파일로 Pyodide(WebAssembly로 컴파일한 CPython)가 실행합니다. 아무것도 외부로 보내지 않습니다.",
      as_given: "주어진 대로", before_change: "변경 전", with_change: "변경: {change}",
      f_drop: "버리기", f_delay: "늦추기", f_duplicate: "복제",
      states: "{name}", path: "경로", cwnd: "시간(ms)에 따른 cwnd와 ssthresh (바이트)",
      field_endpoint: "보낸 쪽", field_flags: "플래그", field_seq: "seq (상대)", field_ack: "ack (상대)",
      field_abs_seq: "seq (절대)", field_abs_ack: "ack (절대)", field_len: "len",
      field_win: "윈도", field_win_bytes: "윈도 (바이트)", field_options: "옵션",
      field_sent: "보낸 시각 (ms)", field_arrival: "도착 (ms)", field_fate: "운명", field_spec: "결함 지정",
      never: "도착 안 함",
      analysing: "{name} 분석 중…", cap_too_big: "{name}({mb} MB)은 이 페이지에서 열기에 너무 큽니다 (최대 256 MB). synack analyze로 분석하세요.", cap_summary: "{name}: 연결 {n}개, TCP 세그먼트 {segments}개 ({format})",
      cap_conn: "연결 {n}: {left} → {right}, 패킷 {packets}개, Zeek {zeek}, 최종 {final}",
      close: "닫기", shutdown: "반닫기", abort: "중단", none: "아무것도 안 함",
      "close-later": "50 ms 뒤 닫기"
    }
  };
  var COMPOSE = ["req", "cend", "cat", "reply", "send", "loss", "sack", "ts", "ws", "nagle"];
  var COMPOSE_DEFAULTS = {req: "18", cend: "close", cat: "200", reply: "40", send: "close-later",
    loss: "0", sack: "1", ts: "1", ws: "1", nagle: "1"};
  var COMMON_DEFAULTS = {linkdelay: "10", msl: "120", seed: "1"};
  var FAULT_KEY = {drop: "drop", delay: "delay", duplicate: "dup"};

  var py = null, pg = null, catalog = null;
  var setup = {scenario: "close", lang: "en"};  // what the URL fragment holds
  var runs = [];  // one or two views from Python: [as given] or [before the change, after it]
  var step = 0;
  var runCount = 0;  // runs done (or failed), for scripts waiting on the page
  var menuFor = null;  // {run, arrow} while the fault menu is open
  var $ = function (id) { return document.getElementById(id); };

  function lang() { return setup.lang === "ko" ? "ko" : "en"; }
  function t(key, values) {
    var text = (WORDS[lang()][key] !== undefined ? WORDS[lang()][key] : WORDS.en[key]) || key;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }
  function status(text, error) {
    $("status").textContent = text;
    $("status").classList.toggle("error", !!error);
  }

  // ---------------------------------------------------------------- the URL
  function decode(text) {  // a malformed escape (%E0%A4%A) is kept as written, not thrown
    try { return decodeURIComponent(text); } catch (e) { return text; }
  }
  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var i = part.indexOf("=");
      var key = decode(i < 0 ? part : part.slice(0, i));
      out[key] = i < 0 ? "" : decode(part.slice(i + 1));
    });
    return out;
  }
  function faultList(s) {  // [[urlKey, spec], ...] in order
    var given = {}, order;
    ["drop", "delay", "dup"].forEach(function (k) { given[k] = s[k] ? s[k].split("~") : []; });
    order = s.fault ? s.fault.split("~") : [].concat(
      given.drop.map(function () { return "drop"; }), given.delay.map(function () { return "delay"; }),
      given.dup.map(function () { return "dup"; }));
    var taken = {drop: 0, delay: 0, dup: 0};
    return order.filter(function (k) { return given[k] && taken[k] < given[k].length; })
      .map(function (k) { return [k, given[k][taken[k]++]]; });
  }
  function withFaults(s, list) {
    var out = {};
    Object.keys(s).forEach(function (k) {
      if (["drop", "delay", "dup", "fault"].indexOf(k) < 0) out[k] = s[k];
    });
    var keys = [];
    list.forEach(function (item) {
      out[item[0]] = out[item[0]] ? out[item[0]] + "~" + item[1] : item[1];
      keys.push(item[0]);
    });
    var mixed = keys.some(function (k, i) { return i > 0 && k !== keys[i - 1]; });
    if (mixed) out.fault = keys.join("~");
    return out;
  }
  function hashOf(s) {
    var keys = ["scenario", "lang"].concat(Object.keys(s).filter(function (k) {
      return k !== "scenario" && k !== "lang" && k !== "step";
    }).sort());
    var parts = keys.filter(function (k) { return s[k] !== undefined && s[k] !== ""; }).map(function (k) {
      return k + "=" + encodeURIComponent(s[k]).replace(/%3A/g, ":").replace(/%7E/g, "~");
    });
    if (step) parts.push("step=" + step);
    return "#" + parts.join("&");
  }
  function writeHash() {
    var h = hashOf(setup);
    if (location.hash !== h) history.replaceState(null, "", h);
  }

  // ---------------------------------------------------------------- the form
  function fillForm() {
    $("scenario").value = setup.scenario;
    Object.keys(COMMON_DEFAULTS).forEach(function (k) {
      $(k).value = setup[k] !== undefined ? setup[k] : COMMON_DEFAULTS[k];
    });
    COMPOSE.forEach(function (k) {
      var v = setup[k] !== undefined ? setup[k] : COMPOSE_DEFAULTS[k];
      var el = $(k);
      if (el.type === "checkbox") el.checked = v === "1"; else el.value = v;
    });
    $("composer").hidden = setup.scenario !== "compose";
    $("clear-faults").disabled = faultList(setup).length === 0;
  }
  function readForm() {  // the form's values into a new setup (faults dropped: a new run)
    var s = {scenario: $("scenario").value, lang: setup.lang};
    Object.keys(COMMON_DEFAULTS).forEach(function (k) {
      if ($(k).value !== COMMON_DEFAULTS[k] && $(k).value !== "") s[k] = $(k).value;
    });
    if (s.scenario === "compose") {
      COMPOSE.forEach(function (k) {
        var el = $(k);
        var v = el.type === "checkbox" ? (el.checked ? "1" : "0") : el.value;
        if (v !== COMPOSE_DEFAULTS[k] && v !== "") s[k] = v;
      });
    }
    return s;
  }
  function translate() {
    document.documentElement.lang = lang();
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    $("lang").textContent = lang() === "ko" ? "English" : "한국어";
    if (catalog) fillMenus();
  }
  function fillMenus() {
    var sel = $("scenario"), keep = setup.scenario;
    sel.innerHTML = "";
    catalog.scenarios.forEach(function (s) {
      var o = document.createElement("option");
      o.value = s.name; o.textContent = s.name + ": " + s.title[lang()];
      sel.appendChild(o);
    });
    var c = document.createElement("option");
    c.value = "compose"; c.textContent = "compose: " + t("compose");
    sel.appendChild(c);
    sel.value = keep;
    [["cend", "client_end"], ["send", "server_end"]].forEach(function (pair) {
      var el = $(pair[0]), v = el.value;
      el.innerHTML = "";
      catalog.choices[pair[1]].forEach(function (choice) {
        var o = document.createElement("option");
        o.value = choice; o.textContent = t(choice);
        el.appendChild(o);
      });
      el.value = v || COMPOSE_DEFAULTS[pair[0]];
    });
  }

  // ---------------------------------------------------------------- running
  function runOne(s, prefix) {
    var given = Object.assign({}, s, {prefix: prefix});
    delete given.step;
    try {
      return JSON.parse(pg.run(JSON.stringify(given)));
    } catch (error) {  // a Python exception: said as a failed run, not left "Running…"
      return {error: String(error && error.message || error).trim().split("\n").pop()};
    }
  }
  function runSetup(keepStep) {
    if (!pg) return;
    status(t("running"));
    document.body.setAttribute("data-ready", "0");
    // let the page show "Running…" before Python takes the thread
    setTimeout(function () {
      var started = performance.now();
      var list = faultList(setup);
      var views = [];
      var before = list.length ? withFaults(setup, list.slice(0, -1)) : null;
      var first = runOne(before || setup, "a-");
      if (first.error) return failed(first.error);
      views.push(first);
      if (before) {
        var second = runOne(setup, "b-");
        if (second.error) return failed(second.error);
        views.push(second);
      }
      runs = views.map(function (v, i) { return {view: v, setup: i === 0 && before ? before : setup, position: i}; });
      if (!keepStep) step = 0;
      draw();
      var wanted = parseInt(setup.step || "0", 10);
      delete setup.step;
      if (keepStep && wanted) step = wanted;
      show(step);
      fillForm();
      writeHash();
      var ms = Math.round(performance.now() - started);
      document.body.setAttribute("data-run-ms", String(ms));
      runCount += 1;
      document.body.setAttribute("data-runs", String(runCount));
      if (runCount === 1) {  // from the start of navigation to the first ladder drawn
        document.body.setAttribute("data-first-ladder-ms", String(Math.round(performance.now())));
      }
      document.body.setAttribute("data-ready", "1");
      status(t("ran", {ms: ms}));
    }, 20);
  }
  function failed(error) {
    runCount += 1;
    document.body.setAttribute("data-runs", String(runCount));
    status(t("failed", {error: error}), true);
    document.body.setAttribute("data-ready", "error");
  }

  // ---------------------------------------------------------------- drawing
  function svgEl(name, attrs, text) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", name);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }
  function lastSpec() {  // the latest fault's spec, without its delay: the segment it picks
    var specs = runs.length ? runs[runs.length - 1].view.specs : [];
    return specs.length ? specs[specs.length - 1][1].split(":").slice(0, 3).join(":") : null;
  }
  function changeText(s) {
    var list = faultList(s);
    if (!list.length) return "";
    var last = list[list.length - 1];
    var action = {drop: "drop", delay: "delay", dup: "duplicate"}[last[0]];
    return t("f_" + action) + " " + last[1];
  }
  function draw() {
    var box = $("runs");
    box.innerHTML = "";
    box.classList.toggle("pair", runs.length > 1);
    var v0 = runs[0].view;
    $("run-title").textContent = v0.title;
    $("narration").innerHTML = "";
    v0.notes.forEach(function (line) {
      var p = document.createElement("p"); p.textContent = line; $("narration").appendChild(p);
    });
    runs.forEach(function (r) {
      var v = r.view, panel = document.createElement("section");
      panel.className = "run";
      panel.id = "run-" + "ab"[r.position];
      panel.setAttribute("data-scenario", v.name);
      var h = document.createElement("h2");
      var done = faultList(r.setup).map(function (f) { return f[0] + " " + f[1]; }).join(", ");
      if (runs.length === 1) h.textContent = t("as_given") + (done ? " (" + done + ")" : "");
      else if (r.position === 0) h.textContent = t("before_change") + (done ? " (" + done + ")" : "");
      else { var span = document.createElement("span"); span.className = "change";
        span.textContent = t("with_change", {change: changeText(r.setup)}); h.appendChild(span); }
      panel.appendChild(h);
      var body = document.createElement("div");
      body.className = "run-body";
      var ladder = document.createElement("div");
      ladder.className = "ladder-box";
      ladder.innerHTML = v.svg;
      body.appendChild(ladder);
      var side = document.createElement("div");
      side.className = "run-side";
      var facts = document.createElement("p");
      facts.className = "facts";
      facts.textContent = [v.seq_note].concat(v.facts.map(function (f) { return f[0] + ": " + f[1]; })).join("\n");
      side.appendChild(facts);
      var machines = document.createElement("div");
      machines.className = "machines";
      [v.left, v.right].forEach(function (name, k) { machines.appendChild(machineSvg(v, name, k)); });
      side.appendChild(machines);
      [v.left, v.right].forEach(function (name) {
        var p = document.createElement("p");
        p.className = "path-text";
        p.setAttribute("data-endpoint", name);
        p.textContent = v.names[name] + " " + t("path") + ": " + v.paths[name].join(" → ");
        side.appendChild(p);
      });
      if (v.cwnd) side.appendChild(cwndSvg(v));
      body.appendChild(side);
      panel.appendChild(body);
      box.appendChild(panel);
      wireLadder(r, panel);
    });
    var last = runs[runs.length - 1].view;
    $("command").textContent = last.command;
    var link = $("toml-link");
    if (last.toml) {
      link.hidden = false;
      link.href = "data:application/toml;charset=utf-8," + encodeURIComponent(last.toml);
    } else link.hidden = true;
  }
  function wireLadder(r, panel) {
    var arrows = r.view.steps.filter(function (s) { return s.kind === "arrow"; });
    var byStep = {};
    r.view.steps.forEach(function (s) { byStep[s.index] = s; });
    var number = 0;
    panel.querySelectorAll("svg .step").forEach(function (g) {
      var s = byStep[parseInt(g.getAttribute("data-step"), 10)];
      g.addEventListener("mouseenter", function () { if (s.kind === "arrow") detail(s, r); });
      if (s.kind !== "arrow") {
        g.addEventListener("click", function () { show(s.index); });
        return;
      }
      number += 1;
      var n = number;
      var shaft = g.querySelector(".shaft");
      if (shaft) {  // a wider target than the 1.6 px line, under it
        var hit = shaft.cloneNode(false);
        hit.setAttribute("class", "hit");
        g.insertBefore(hit, shaft);
      }
      g.setAttribute("data-n", String(n));
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", "#" + n + " " + s.describe);
      if (s.spec) g.setAttribute("data-spec", s.spec);
      if (s.faulted) g.classList.add("faulted");
      // in the run before the change, the segment the change is about
      if (runs.length > 1 && r.position === 0 && s.spec === lastSpec()) g.classList.add("clicked");
      g.addEventListener("focus", function () { detail(s, r); show(s.index, true); });
      g.addEventListener("click", function (e) { openMenu(r, s, n, g); e.stopPropagation(); });
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openMenu(r, s, n, g); }
      });
    });
    if (arrows.length !== number) console.warn("arrows drawn and listed differ");
  }
  function detail(s, r) {
    var dl = $("detail-fields");
    dl.innerHTML = "";
    var v = r.view;
    var rows = [
      ["field_endpoint", v.names[s.side] + " → " + v.names[s.dst]],
      ["field_flags", s.flags || "-"], ["field_seq", s.seq], ["field_ack", s.flags.indexOf(".") >= 0 ? s.ack : "-"],
      ["field_abs_seq", s.abs_seq], ["field_abs_ack", s.flags.indexOf(".") >= 0 ? s.abs_ack : "-"],
      ["field_len", s.len], ["field_win", s.window], ["field_win_bytes", s.win_bytes],
      ["field_options", s.options || "-"], ["field_sent", (s.t * 1000).toFixed(3).replace(/\.?0+$/, "")],
      ["field_arrival", s.arrival === null ? t("never") : (s.arrival * 1000).toFixed(3).replace(/\.?0+$/, "")],
      ["field_fate", s.fate_note ? s.fate_word + " (" + s.fate_note + ")" : s.fate_word], ["field_spec", s.spec || "-"]
    ];
    rows.forEach(function (row) {
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = t(row[0]); dd.textContent = String(row[1]);
      dd.setAttribute("data-field", row[0].replace("field_", ""));
      dl.appendChild(dt); dl.appendChild(dd);
    });
    $("detail").hidden = false;
  }
  function machineSvg(v, name, side) {
    var grid = catalog.state_grid, W = 3 * 118 + 20, H = 7 * 30 + 34;
    var svg = svgEl("svg", {"class": "machine-svg", width: W, height: H, viewBox: "0 0 " + W + " " + H,
      "data-endpoint": name, role: "img"});
    var defs = svgEl("defs");
    var marker = svgEl("marker", {id: "m-head", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse"});
    marker.appendChild(svgEl("path", {d: "M0,0 L10,5 L0,10 z", fill: "#b45309"}));
    defs.appendChild(marker); svg.appendChild(defs);
    var title = svgEl("text", {"class": "title", x: 8, y: 16}, t("states", {name: v.names[name]}) + ": ");
    var current = svgEl("tspan", {"class": "current-name"}, "");
    title.appendChild(current);
    svg.appendChild(title);
    function center(state) { var p = grid[state]; return p ? [10 + (p[1] - 1) * 118 + 55, 26 + (p[0] - 1) * 30 + 11] : null; }
    svg.appendChild(svgEl("g", {"class": "edges"}));
    Object.keys(grid).forEach(function (state) {
      var c = center(state);
      var g = svgEl("g", {"class": "node", "data-state": state});
      g.appendChild(svgEl("rect", {x: c[0] - 53, y: c[1] - 10, width: 106, height: 20, rx: 4}));
      g.appendChild(svgEl("text", {x: c[0], y: c[1] + 3.5, "text-anchor": "middle"}, state));
      svg.appendChild(g);
    });
    svg._center = center; svg._side = side;
    return svg;
  }
  function updateMachines(panel, r, k) {
    var v = r.view;
    var states = k === 0 ? v.initial : v.steps[Math.min(k, v.steps.length) - 1].states;
    panel.querySelectorAll("svg.machine-svg").forEach(function (svg) {
      var side = svg._side, state = states[side];
      var path = [v.initial[side]];
      for (var i = 0; i < Math.min(k, v.steps.length); i++) {
        var s = v.steps[i];
        if (s.kind === "state" && s.side === svg.getAttribute("data-endpoint")) path.push(s.text);
      }
      svg.setAttribute("data-state", state);
      svg.setAttribute("data-path", path.join(" "));
      svg.querySelector(".current-name").textContent = state;
      svg.querySelectorAll(".node").forEach(function (node) {
        var name = node.getAttribute("data-state");
        node.classList.toggle("current", name === state);
        node.classList.toggle("visited", name !== state && path.indexOf(name) >= 0);
      });
      var edges = svg.querySelector(".edges");
      edges.innerHTML = "";
      for (var j = 1; j < path.length; j++) {
        var a = svg._center(path[j - 1]), b = svg._center(path[j]);
        if (!a || !b || path[j - 1] === path[j]) continue;
        var dx = b[0] - a[0], dy = b[1] - a[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
        // a long edge bends further, clear of the states it passes
        var bend = Math.max(14, len * 0.3) * (j % 2 ? 1 : -1);
        var mx = (a[0] + b[0]) / 2 - dy / len * bend, my = (a[1] + b[1]) / 2 + dx / len * bend;
        var shrink = function (p, q) { var ex = q[0] - p[0], ey = q[1] - p[1], l = Math.sqrt(ex * ex + ey * ey) || 1;
          return [p[0] + ex / l * Math.min(12, l / 3), p[1] + ey / l * Math.min(12, l / 3)]; };
        var a2 = shrink(a, [mx, my]), b2 = shrink(b, [mx, my]);
        edges.appendChild(svgEl("path", {"class": "edge", d: "M" + a2[0] + "," + a2[1] + " Q" + mx + "," + my + " " + b2[0] + "," + b2[1]}));
        var lx = (a2[0] + 2 * mx + b2[0]) / 4, ly = (a2[1] + 2 * my + b2[1]) / 4;  // on the curve
        edges.appendChild(svgEl("text", {"class": "order", x: lx + 3, y: ly - 2}, String(j)));
      }
    });
  }
  function cwndSvg(v) {
    var W = 560, H = 220, L = 64, B = 30, T = 24;
    var svg = svgEl("svg", {"class": "cwnd-svg", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": t("cwnd")});
    var series = v.cwnd, names = Object.keys(series).filter(function (n) { return series[n].length; });
    var tmax = 0, ymax = 1;
    names.forEach(function (n) { series[n].forEach(function (p) {
      tmax = Math.max(tmax, p[0]); ymax = Math.max(ymax, p[1], p[2] !== null ? p[2] : 0); }); });
    tmax = Math.max(tmax, 0.001);
    var x = function (s) { return L + (W - L - 10) * s / tmax; };
    var y = function (b) { return H - B - (H - B - T) * Math.min(b, ymax) / ymax; };
    svg.appendChild(svgEl("text", {x: 8, y: 14}, t("cwnd")));
    svg.appendChild(svgEl("line", {"class": "axis", x1: L, y1: H - B, x2: W - 10, y2: H - B}));
    svg.appendChild(svgEl("line", {"class": "axis", x1: L, y1: T, x2: L, y2: H - B}));
    [0, 0.5, 1].forEach(function (f) {
      svg.appendChild(svgEl("text", {x: L - 4, y: y(ymax * f) + 3, "text-anchor": "end"}, String(Math.round(ymax * f))));
      svg.appendChild(svgEl("text", {x: x(tmax * f), y: H - B + 14, "text-anchor": "middle"}, String(Math.round(tmax * f * 1000))));
    });
    var colours = {client: "#b45309", server: "#0e7490"};
    names.forEach(function (n, i) {
      var pts = series[n], d = "", e = "";
      pts.forEach(function (p, j) {
        d += (j ? " H" + x(p[0]).toFixed(1) + " V" : "M" + x(p[0]).toFixed(1) + ",") + y(p[1]).toFixed(1);
        if (p[2] !== null) e += (e ? " H" + x(p[0]).toFixed(1) + " V" : "M" + x(p[0]).toFixed(1) + ",") + y(p[2]).toFixed(1);
      });
      var colour = colours[n] || "#6b7280";
      svg.appendChild(svgEl("path", {"class": "cwnd", d: d, stroke: colour, "data-endpoint": n, "data-points": String(pts.length)}));
      if (e) svg.appendChild(svgEl("path", {"class": "ssthresh", d: e, stroke: colour}));
      svg.appendChild(svgEl("text", {x: W - 150, y: T + 12 + 12 * i, fill: colour}, v.names[n] + " cwnd"));
    });
    svg.appendChild(svgEl("line", {"class": "now", x1: L, y1: T, x2: L, y2: H - B}));
    svg._x = x;
    return svg;
  }

  // ---------------------------------------------------------------- stepping
  function total() { return Math.max.apply(null, runs.map(function (r) { return r.view.steps.length; })); }
  function show(k, fromFocus) {
    if (!runs.length) return;
    var n = total();
    step = Math.max(0, Math.min(n, k | 0));
    runs.forEach(function (r) {
      var panel = $("run-" + "ab"[r.position]);
      var kk = Math.min(step, r.view.steps.length);
      panel.querySelectorAll("svg .step").forEach(function (g) {
        var i = parseInt(g.getAttribute("data-step"), 10);
        g.classList.toggle("current", i === kk);
        g.classList.toggle("future", i > kk);
      });
      panel.querySelectorAll(".band").forEach(function (b) {
        b.classList.toggle("current", b.id === "ab"[r.position] + "-band-" + kk);
      });
      updateMachines(panel, r, kk);
      var cw = panel.querySelector(".cwnd-svg");
      if (cw) {
        var at = kk ? r.view.steps[kk - 1].t : 0, line = cw.querySelector(".now");
        line.setAttribute("x1", cw._x(at)); line.setAttribute("x2", cw._x(at));
      }
    });
    $("step-counter").textContent = t("step_of", {k: step, n: n});
    var last = runs[runs.length - 1].view;
    $("step-text").textContent = step === 0 ? t("before") :
      (last.steps[Math.min(step, last.steps.length) - 1] || {}).describe || "";
    $("prev").disabled = step === 0;
    $("next").disabled = step === n;
    document.body.setAttribute("data-step", String(step));
    writeHash();
    if (!fromFocus && step > 0) {
      var g = document.querySelector("#run-" + "ab"[runs.length - 1] + " svg #" + "ab"[runs.length - 1] + "-step-" + Math.min(step, last.steps.length));
      if (g && g.scrollIntoView) {
        var box = g.getBoundingClientRect();
        if (box.top < 60 || box.bottom > window.innerHeight) g.scrollIntoView({block: "center"});
      }
    }
  }

  // ---------------------------------------------------------------- faults
  function openMenu(r, s, n, g) {
    if (!s.spec) return;  // a copy or an injected packet: no fault rule counts it
    menuFor = {run: r, arrow: s, n: n, g: g};
    $("fault-what").textContent = "#" + n + " " + s.text + " (" + s.spec + ")";
    var menu = $("fault-menu"), box = g.getBoundingClientRect();
    menu.hidden = false;
    menu.style.left = (window.scrollX + Math.max(8, box.left + box.width / 2 - 150)) + "px";
    menu.style.top = (window.scrollY + box.bottom + 6) + "px";
    $("fault-drop").focus();
  }
  function closeMenu(refocus) {
    $("fault-menu").hidden = true;
    if (refocus && menuFor && menuFor.g) menuFor.g.focus();
    menuFor = null;
  }
  function applyFault(action) {
    if (!menuFor) return;
    var spec = menuFor.arrow.spec;
    if (action !== "drop") spec += ":" + Math.max(1, parseFloat($("fault-ms").value) || 200) + "ms";
    var base = menuFor.run.setup;
    var list = faultList(base).concat([[FAULT_KEY[action], spec]]);
    setup = withFaults(base, list);
    closeMenu(false);
    runSetup(false);
  }

  // ---------------------------------------------------------------- captures
  var MAX_CAPTURE = 256 * 1024 * 1024;  // the page holds the file twice (browser and Python)
  function openCapture(file) {
    if (!pg || !file) return;
    if (file.size > MAX_CAPTURE) {
      status(t("cap_too_big", {name: file.name, mb: Math.round(file.size / 1048576)}), true);
      document.body.setAttribute("data-capture", "error");
      return;
    }
    status(t("analysing", {name: file.name}));
    file.arrayBuffer().then(function (buffer) {
      var path = "/tmp/capture-" + Date.now();
      py.FS.writeFile(path, new Uint8Array(buffer));
      var result = JSON.parse(pg.analyze_capture(path, lang()));
      py.FS.unlink(path);
      var out = $("capture-result");
      out.innerHTML = "";
      out.setAttribute("data-connections", String(result.connections.length));
      var head = document.createElement("p");
      head.className = "summary";
      head.textContent = result.error && !result.connections.length ? file.name + ": " + result.error :
        t("cap_summary", {name: file.name, n: result.connections.length, segments: result.segments, format: result.format}) +
        (result.error ? "; " + result.error : "");
      out.appendChild(head);
      result.connections.forEach(function (c) {
        var div = document.createElement("div");
        div.className = "conn";
        div.setAttribute("data-number", String(c.number));
        var h = document.createElement("h3");
        h.textContent = t("cap_conn", {n: c.number, left: c.left, right: c.right, packets: c.packets,
          zeek: c.zeek, final: c.final.join(" / ")});
        div.appendChild(h);
        var story = document.createElement("p");
        story.className = "story"; story.textContent = c.story;
        div.appendChild(story);
        if (c.svg) { var l = document.createElement("div"); l.className = "ladder-box"; l.innerHTML = c.svg; div.appendChild(l); }
        out.appendChild(div);
      });
      status(head.textContent, !!result.error && !result.connections.length);
      document.body.setAttribute("data-capture", result.error && !result.connections.length ? "error" : "done");
    });
  }

  // ---------------------------------------------------------------- wiring
  function wire() {
    $("lang").addEventListener("click", function () {
      setup.lang = lang() === "ko" ? "en" : "ko";
      translate();
      runSetup(true);
    });
    $("run").addEventListener("click", function () { setup = readForm(); runSetup(false); });
    $("scenario").addEventListener("change", function () {
      $("composer").hidden = $("scenario").value !== "compose";
      setup = readForm(); runSetup(false);
    });
    $("clear-faults").addEventListener("click", function () { setup = withFaults(setup, []); runSetup(false); });
    $("prev").addEventListener("click", function () { show(step - 1); });
    $("next").addEventListener("click", function () { show(step + 1); });
    $("fault-drop").addEventListener("click", function () { applyFault("drop"); });
    $("fault-delay").addEventListener("click", function () { applyFault("delay"); });
    $("fault-dup").addEventListener("click", function () { applyFault("duplicate"); });
    $("fault-cancel").addEventListener("click", function () { closeMenu(true); });
    $("fault-menu").addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); closeMenu(true); }
    });
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (!$("fault-menu").hidden || /^(INPUT|SELECT|TEXTAREA)$/.test(tag)) return;
      var to = null;
      if (e.key === "ArrowRight" || e.key === "ArrowDown" || e.key === "n") to = step + 1;
      else if (e.key === "ArrowLeft" || e.key === "ArrowUp" || e.key === "p") to = step - 1;
      else if (e.key === "Home") to = 0;
      else if (e.key === "End") to = total();
      if (to !== null) { e.preventDefault(); show(to); }
    });
    document.addEventListener("click", function (e) {
      if (!$("fault-menu").hidden && !$("fault-menu").contains(e.target)) closeMenu(false);
    });
    window.addEventListener("hashchange", function () {
      var wanted = parseHash();
      if (hashOf(Object.assign({}, wanted, {step: undefined})) === hashOf(setup)) {
        if (wanted.step !== undefined) show(parseInt(wanted.step, 10));
        return;
      }
      setup = wanted;
      if (!setup.scenario) setup.scenario = "close";
      step = 0;  // a new setup starts at the step its URL names, or before the first
      translate(); fillForm(); runSetup(true);
    });
    var zone = $("capture");
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault(); zone.classList.remove("over");
      if (e.dataTransfer && e.dataTransfer.files.length) openCapture(e.dataTransfer.files[0]);
    });
    $("capture-file").addEventListener("change", function () { openCapture($("capture-file").files[0]); });
  }

  function start() {
    setup = parseHash();
    if (!setup.scenario) setup.scenario = "close";
    if (!setup.lang) setup.lang = navigator.language && navigator.language.indexOf("ko") === 0 ? "ko" : "en";
    translate();
    wire();
    if ("serviceWorker" in navigator && location.protocol.indexOf("http") === 0) {
      navigator.serviceWorker.register("sw.js").catch(function () { /* offline copy unavailable */ });
    }
    if (typeof loadPyodide !== "function") {
      status(t("no_runtime", {error: "pyodide/pyodide.js"}), true);
      return;
    }
    loadPyodide({indexURL: new URL("pyodide/", location.href).href}).then(function (runtime) {
      py = runtime;
      document.body.setAttribute("data-runtime-ms", String(Math.round(performance.now())));
      status(t("loading_synack"));
      return fetch("synack.zip").then(function (r) {
        if (!r.ok) throw new Error("synack.zip: HTTP " + r.status);
        return r.arrayBuffer();
      });
    }).then(function (zipped) {
      py.unpackArchive(zipped, "zip", {extractDir: "/home/pyodide/synack-site"});
      py.runPython("import sys; sys.path.insert(0, '/home/pyodide/synack-site')");
      pg = py.pyimport("synack.web.playground");
      catalog = JSON.parse(pg.catalog());
      var css = document.createElement("style");
      css.textContent = catalog.ladder_css;
      document.head.insertBefore(css, document.head.querySelector("link"));
      translate();
      fillForm();
      document.body.setAttribute("data-load-ms", String(Math.round(performance.now())));
      status(t("ready", {version: catalog.version, pyodide: py.version, python: catalog.python}));
      runSetup(true);
    }).catch(function (error) {
      status(t("no_runtime", {error: String(error && error.message || error)}), true);
      document.body.setAttribute("data-ready", "error");
    });
  }
  start();
})();
