// The herald dashboard: reads this node's /v1 routes and its event stream, and keeps the page
// up to date without reloads. Plain JS, no libraries. Every value from the node goes into the
// DOM as text (textContent, createElement), never as HTML. The graphs are drawn by graph.js.
"use strict";

(function () {
  // The API token, when the API asks for one: the page itself is then opened as `/?token=...`
  // (a token in the fragment would not reach the node, which refuses the page without it).
  const token = new URLSearchParams(location.search).get("token") || "";

  const state = {
    self: null,            // GET /v1/status
    members: new Map(),    // node_id -> MemberView, plus heardAt (ms since epoch)
    services: new Map(),   // origin + "\n" + service -> ServiceView
    overlay: null,         // GET /v1/overlay
    groups: [],            // {name, view, topology, member} or {name, failure}: loadGroups
  };

  const $ = (id) => document.getElementById(id);

  // --- talking to the node --------------------------------------------------------------

  // What is wrong now, by source: each route whose last read failed, and "page" for anything
  // else. The banner lists them all, so one route's success does not hide another's failure.
  const failures = new Map();

  function renderFailures() {
    const box = $("error");
    const text = [...failures.values()].join("; ");
    box.textContent = text;
    box.hidden = text === "";
  }

  // With `absent` set, a 404 (the thing is not there, or not yet) is null, not a failure.
  async function getJSON(path, absent) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    try {
      const response = await fetch(path, { headers, cache: "no-store" });
      if (absent && response.status === 404) {
        failures.delete(path);
        renderFailures();
        return null;
      }
      if (!response.ok) {
        throw new Error("answered HTTP " + response.status);
      }
      const body = await response.json();
      failures.delete(path);
      renderFailures();
      return body;
    } catch (error) {
      failures.set(path, path + ": " + String(error.message || error));
      renderFailures();
      error.shown = true;
      throw error;
    }
  }

  // Shows an error that no route's read has shown already, or clears the last one (null).
  function showError(error) {
    if (!error) {
      failures.delete("page");
    } else if (!error.shown) {
      failures.set("page", String(error.message || error));
    }
    renderFailures();
  }

  // Runs `load` now and every `ms` milliseconds; errors show in the banner.
  function every(ms, load) {
    const run = () => load().then(() => showError(null), showError);
    run();
    setInterval(run, ms);
    return run;
  }

  // Runs `load` at most once per `ms`, however often it is asked.
  function throttled(ms, load) {
    let pending = false;
    return () => {
      if (pending) return;
      pending = true;
      setTimeout(() => { pending = false; load().catch(showError); }, ms);
    };
  }

  // --- small DOM helpers ------------------------------------------------------------------

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function fillTable(id, rows, columns, emptyText) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const row = body.insertRow();
      const cell = el("td", emptyText, "empty");
      cell.colSpan = columns;
      row.append(cell);
    }
    for (const cells of rows) {
      const row = body.insertRow();
      for (const cell of cells) row.append(cell);
    }
    return body;
  }

  const short = (id) => (id ? String(id).slice(0, 8) : "");
  function nameOf(id) {
    const member = state.members.get(id);
    return member && member.name ? member.name : short(id);
  }
  function ago(ms) {
    if (ms === null || ms === undefined) return "never";
    if (ms < 1000) return "now";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s ago";
    if (ms < 3600000) return Math.floor(ms / 60000) + " min ago";
    return Math.floor(ms / 3600000) + " h ago";
  }

  // --- members ----------------------------------------------------------------------------

  // A `member` event is sent when a state changes, often before the node has heard from the
  // member or measured its round trip: a missing figure keeps the one already shown, until the
  // next full read of the members replaces them all.
  function putMember(view) {
    const known = state.members.get(view.node_id);
    const missing = (value) => value === null || value === undefined;
    const heardAt = missing(view.last_heard_ms_ago)
      ? (known ? known.heardAt : null) : Date.now() - view.last_heard_ms_ago;
    const rtt = missing(view.rtt_ms) && known ? known.rtt_ms : view.rtt_ms;
    state.members.set(view.node_id, Object.assign({}, view, { heardAt, rtt_ms: rtt }));
  }

  async function loadMembers() {
    const members = await getJSON("/v1/members");
    state.members.clear();
    members.forEach(putMember);
    renderMembers();
    renderOverlay();
    renderGroupGraphs();
  }

  function renderMembers() {
    const selfId = state.self ? state.self.node_id : null;
    const members = [...state.members.values()].sort((a, b) =>
      (a.node_id === selfId ? -1 : b.node_id === selfId ? 1 : 0) ||
      (a.name || a.node_id).localeCompare(b.name || b.node_id));
    const now = Date.now();
    const rows = members.map((m) => {
      const id = el("td", short(m.node_id), "mono");
      id.title = m.node_id;
      const stateCell = el("td");
      stateCell.append(el("span", m.state, "badge state-" + m.state));
      return [
        id,
        el("td", (m.name || "?") + (m.node_id === selfId ? " (this node)" : "")),
        stateCell,
        el("td", m.role || "?"),
        el("td", m.rtt_ms === null || m.rtt_ms === undefined ? "–" : m.rtt_ms + " ms", "num"),
        // This node hears itself now; its reading would otherwise age until the next one.
        el("td", m.node_id === selfId ? "now" : m.heardAt === null ? "never" : ago(now - m.heardAt),
          "num"),
      ];
    });
    const body = fillTable("members", rows, 6, "no members yet");
    members.forEach((m, i) => {
      const row = body.rows[i];
      row.dataset.id = m.node_id;
      row.dataset.state = m.state;
      if (m.node_id === selfId) row.className = "self";
    });
    const counts = {};
    for (const m of members) counts[m.state] = (counts[m.state] || 0) + 1;
    const summary = $("member-counts");
    summary.textContent = "· " + members.length + " known · " +
      Object.keys(counts).sort().map((s) => counts[s] + " " + s).join(" · ");
    summary.dataset.alive = String(counts.alive || 0);
  }

  // --- overlay graph ----------------------------------------------------------------------

  async function loadOverlay() {
    state.overlay = await getJSON("/v1/overlay");
    renderOverlay();
  }

  // The state a node is shown in: as the members list has it, else `otherwise`.
  function stateOf(id, otherwise) {
    const member = state.members.get(id);
    return member ? member.state : otherwise;
  }

  // The cost written on a link to `id`: the round trip this node measured to it, if any.
  function rttOf(id) {
    const member = state.members.get(id);
    return member && typeof member.rtt_ms === "number" ? member.rtt_ms : null;
  }

  // This node in the middle, every other member on a circle around it, and a line to each
  // overlay neighbour: its view (active, passive, client), its broadcast link (eager, lazy),
  // and the round trip to it.
  function renderOverlay() {
    if (!state.self) return;
    const overlay = state.overlay || {};
    const set = (name) => new Set(overlay[name] || []);
    const views = { active: set("active"), passive: set("passive"), client: set("clients") };
    const eager = set("eager");
    const lazy = set("lazy");
    const selfId = state.self.node_id;
    const others = new Set([...state.members.keys()].filter((id) => id !== selfId));
    for (const view of Object.values(views)) for (const id of view) others.add(id);
    const ids = [selfId, ...[...others].sort((a, b) => nameOf(a).localeCompare(nameOf(b)))];
    const nodes = ids.map((id) => ({
      id, name: nameOf(id), state: stateOf(id, "unknown"), self: id === selfId,
    }));
    const edges = [];
    for (const id of ids) {
      const kind = Object.keys(views).find((name) => views[name].has(id));
      if (!kind) continue;
      const tree = eager.has(id) ? " eager" : lazy.has(id) ? " lazy" : "";
      const title = kind + (tree ? "," + tree : "") + ": " + nameOf(id);
      edges.push({ a: selfId, b: id, kind: kind + tree, title, cost: rttOf(id) });
    }
    heraldGraph.draw($("overlay"), nodes, edges, selfId);
  }

  // --- group topologies -------------------------------------------------------------------

  // Reads of the groups overlap (the timer, topology events, a reload): only the latest one
  // started is applied.
  let groupReads = 0;

  // The group list, then each group's view (GET /v1/groups/{g}) and topology (null while this
  // node computes none), or why they could not be read: one group's failure stops no other's.
  async function loadGroups() {
    const read = ++groupReads;
    const summaries = await loadGroupTable();
    const paths = summaries.map(({ name }) => "/v1/groups/" + encodeURIComponent(name));
    const loaded = await Promise.all(summaries.map(async ({ name, member }, i) => {
      try {
        const [view, topology] =
          await Promise.all([getJSON(paths[i], true), getJSON(paths[i] + "/topology", true)]);
        return view && { name, view, topology, member };
      } catch (error) {
        return { name, failure: String(error.message || error) };
      }
    }));
    if (read !== groupReads) return;
    // A failed read of a group that is gone stops showing.
    for (const source of [...failures.keys()]) {
      const group = source.match(/^\/v1\/groups\/[^/]+/);
      if (group && !paths.includes(group[0])) failures.delete(source);
    }
    renderFailures();
    state.groups = loaded.filter(Boolean);
    renderGroupGraphs();
  }

  // One picture a group: its sites on a circle, coloured by their state as the members list
  // has it (the group's own reading before the site's node is a known member), and the
  // topology's edges with their cost.
  function renderGroupGraphs() {
    const box = $("group-graphs");
    box.replaceChildren();
    if (state.groups.length === 0) box.append(el("p", "no groups", "muted"));
    const selfId = state.self ? state.self.node_id : null;
    for (const { name, view, topology, member, failure } of state.groups) {
      const figure = el("figure");
      const caption = el("figcaption", name);
      caption.append(el("span", failure ? " · its read failed: " + failure : topology
        ? " · " + topology.edges.length + " links, connectivity " + topology.connectivity
        : member ? " · no topology yet" : " · this node is no member: it computes no topology",
      "muted"));
      figure.append(caption);
      box.append(figure);
      if (failure) continue;
      const root = heraldGraph.canvas(figure, "the topology of group " + view.name);
      root.dataset.group = view.name;
      const nodes = view.members.map((m) => {
        const id = m.node_id || m.site;
        return { id, name: m.site, state: stateOf(id, m.state), self: id === selfId };
      });
      nodes.sort((a, b) => a.name.localeCompare(b.name));
      const siteOf = (id) => (nodes.find((node) => node.id === id) || { name: nameOf(id) }).name;
      const edges = (topology ? topology.edges : []).map((edge) => ({
        a: edge.a, b: edge.b, kind: "topology", cost: edge.cost_ms,
        title: siteOf(edge.a) + " – " + siteOf(edge.b),
      }));
      heraldGraph.draw(root, nodes, edges);
    }
  }

  // --- services, groups, routes, counters ---------------------------------------------------

  const serviceKey = (view) => view.origin + "\n" + view.service;

  async function loadServices() {
    const services = await getJSON("/v1/services");
    state.services.clear();
    for (const view of services) state.services.set(serviceKey(view), view);
    renderServices();
  }

  function renderServices() {
    const services = [...state.services.values()].sort((a, b) =>
      a.service.localeCompare(b.service) || a.origin.localeCompare(b.origin));
    fillTable("services", services.map((s) => {
      const origin = el("td", nameOf(s.origin));
      origin.title = s.origin;
      const payload = JSON.stringify(s.payload);
      const payloadCell = el("td", payload, "payload");
      payloadCell.title = payload;
      return [
        el("td", s.service),
        origin,
        el("td", s.seq, "num"),
        el("td", new Date(s.issued_at).toLocaleString()),
        payloadCell,
      ];
    }), 5, "no announcements");
  }

  async function loadGroupTable() {
    const groups = await getJSON("/v1/groups");
    fillTable("groups", groups.map((g) => [
      el("td", g.name),
      el("td", g.sites, "num"),
      el("td", g.member ? "yes" : "no"),
      el("td", g.messages_held, "num"),
    ]), 4, "no groups");
    return groups;
  }

  async function loadRoutes() {
    const routes = await getJSON("/v1/routes");
    routes.sort((a, b) => nameOf(a.destination).localeCompare(nameOf(b.destination)));
    fillTable("routes", routes.map((r) => [
      el("td", nameOf(r.destination)),
      el("td", nameOf(r.next_hop)),
      el("td", r.cost + " ms", "num"),
      el("td", r.path.map(nameOf).join(" → ")),
    ]), 4, "no routes");
  }

  // Every number in the stats object, by its dotted path.
  function flatten(value, prefix, out) {
    if (typeof value === "number") {
      out.push([prefix, value]);
    } else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) {
        flatten(inner, prefix ? prefix + "." + key : key, out);
      }
    }
    return out;
  }

  async function loadStats() {
    const counters = flatten(await getJSON("/v1/stats"), "", []);
    fillTable("stats", counters.map(([name, value]) => [
      el("td", name, "mono"),
      el("td", value.toLocaleString(), "num"),
    ]), 2, "no counters");
  }

  async function loadStatus() {
    state.self = await getJSON("/v1/status");
    const s = state.self;
    $("node").textContent = (s.name || short(s.node_id)) + " · " + s.role + " · " +
      short(s.node_id) + " · v" + s.version + " · " + (s.ready ? "ready" : "not ready");
    document.title = "herald · " + (s.name || short(s.node_id));
  }

  // --- the event stream -------------------------------------------------------------------

  // `afterFailure`: the stream is opened again after the browser gave up on it.
  function connectEvents(reloadAll, afterFailure) {
    const path = "/v1/events" + (token ? "?token=" + encodeURIComponent(token) : "");
    const events = new EventSource(path);
    const status = $("stream");
    const setStatus = (name, text) => { status.dataset.state = name; status.textContent = text; };
    let failed = Boolean(afterFailure);
    events.onopen = () => {
      setStatus("open", "events: live");
      // Events may have been missed while the stream was down.
      if (failed) reloadAll();
      failed = false;
    };
    events.onerror = () => {
      failed = true;
      if (events.readyState === EventSource.CLOSED) {
        // An HTTP error (a token that changed, a node restarting): the browser does not try
        // again by itself.
        setStatus("error", "events: closed, retrying");
        setTimeout(() => connectEvents(reloadAll, true), 5000);
      } else {
        setStatus("error", "events: reconnecting");
      }
    };
    const data = (event) => JSON.parse(event.data);
    const refreshRoutes = throttled(500, loadRoutes);
    const refreshGroupTable = throttled(1000, loadGroupTable);
    const refreshGroups = throttled(1000, loadGroups);
    events.addEventListener("member", (event) => {
      putMember(data(event));
      renderMembers();
      renderOverlay();
      renderGroupGraphs();
    });
    events.addEventListener("announcement", (event) => {
      const view = data(event);
      state.services.set(serviceKey(view), view);
      renderServices();
    });
    events.addEventListener("withdrawal", (event) => {
      state.services.delete(serviceKey(data(event)));
      renderServices();
    });
    events.addEventListener("route", refreshRoutes);
    events.addEventListener("message", refreshGroupTable);
    events.addEventListener("topology", refreshGroups);
    // The page read too slowly and events were dropped: read the lists again.
    events.addEventListener("lagged", reloadAll);
  }

  // --- start ----------------------------------------------------------------------------

  async function start() {
    try {
      await loadStatus();
    } catch (error) {
      showError(error);
    }
    const reloadAll = () =>
      Promise.all([loadMembers(), loadServices(), loadGroups(), loadRoutes()])
        .then(() => showError(null), showError);
    connectEvents(reloadAll);
    every(10000, () => Promise.all([loadStatus(), loadMembers(), loadServices()]));
    every(5000, loadGroups);
    every(3000, loadOverlay);
    every(5000, loadRoutes);
    every(3000, loadStats);
    // The "last heard" column ages between events.
    setInterval(renderMembers, 1000);
  }

  start();
})();
