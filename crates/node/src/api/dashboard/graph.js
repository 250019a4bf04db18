// The dashboard's graph drawing: nodes coloured by member state and the links between them,
// each link labelled with its cost. The overlay and every group's topology are drawn by the one
// `draw` below; dashboard.js decides what goes in each picture. Loaded before dashboard.js, this
// file defines one global, `heraldGraph`. Names go into the SVG as text, never as markup.
"use strict";

const heraldGraph = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  // Every graph's viewBox, set by `draw` on the SVG it draws into; its centre, and the circle
  // the nodes are placed on.
  const VIEW_BOX = "0 0 420 320";
  const [CX, CY, RADIUS] = [210, 155, 120];

  // Where along a link its cost label may go, in order of preference, and the room a label
  // takes: links that cross at their middles (a ring's diagonals) keep their labels apart.
  const LABEL_AT = [0.5, 0.35, 0.65, 0.25, 0.75];
  const [LABEL_WIDTH, LABEL_HEIGHT] = [44, 14];

  function svg(tag, attributes, parent) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    parent.append(node);
    return node;
  }

  // Places `ids` evenly on the circle, the first at the top, into the map `at` (id -> [x, y]).
  function ring(ids, at) {
    ids.forEach((id, i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(ids.length, 1);
      at.set(id, [CX + RADIUS * Math.cos(angle), CY + RADIUS * Math.sin(angle)]);
    });
  }

  // The first place along the line from (x1, y1) to (x2, y2) clear of the labels `placed`
  // ([x, y] each) so far, else its middle; added to `placed`.
  function labelPlace(x1, y1, x2, y2, placed) {
    const places = LABEL_AT.map((t) => [x1 + (x2 - x1) * t, y1 + (y2 - y1) * t]);
    const clear = ([x, y]) => placed.every(([px, py]) =>
      Math.abs(px - x) >= LABEL_WIDTH || Math.abs(py - y) >= LABEL_HEIGHT);
    const place = places.find(clear) || places[0];
    placed.push(place);
    return place;
  }

  // A new SVG for `draw`, labelled `label` for screen readers, at the end of `parent`.
  function canvas(parent, label) {
    return svg("svg", { class: "graph", role: "img", "aria-label": label }, parent);
  }

  // Draws into the SVG `root`, emptied first and given the viewBox. `nodes`: [{id, name, state,
  // self}], placed on the circle in their order, or `centre` (an id) in the middle. `edges`:
  // [{a, b, kind, title, cost}], each a line of class `edge` plus `kind`, with `cost` in ms
  // written on it when it is a number; an edge with an end not among `nodes` is left out. Each
  // link is a `g.link` with `data-a` and `data-b`, each node a `g` with `data-id` and
  // `data-state`.
  function draw(root, nodes, edges, centre) {
    root.replaceChildren();
    root.setAttribute("viewBox", VIEW_BOX);
    const at = new Map();
    if (centre !== undefined) at.set(centre, [CX, CY]);
    ring(nodes.map((node) => node.id).filter((id) => id !== centre), at);
    const links = svg("g", {}, root);
    const placed = [];
    for (const edge of edges) {
      const [from, to] = [at.get(edge.a), at.get(edge.b)];
      if (!from || !to) continue;
      const link = svg("g", { class: "link", "data-a": edge.a, "data-b": edge.b }, links);
      const [x1, y1, x2, y2] = [...from, ...to];
      svg("line", { x1, y1, x2, y2, class: "edge " + edge.kind }, link);
      if (typeof edge.cost === "number") {
        const [x, y] = labelPlace(x1, y1, x2, y2, placed);
        svg("text", { x, y: y + 4, class: "cost" }, link).textContent = edge.cost + " ms";
      }
      svg("title", {}, link).textContent =
        edge.title + (typeof edge.cost === "number" ? ", " + edge.cost + " ms" : "");
    }
    for (const node of nodes) {
      const [x, y] = at.get(node.id);
      const big = node.id === centre;
      const group = svg("g", { "data-id": node.id, "data-state": node.state }, root);
      svg("circle", {
        cx: x, cy: y, r: big ? 16 : 12,
        class: "node state-" + node.state + (node.self ? " self" : ""),
      }, group);
      svg("title", {}, group).textContent = node.name + " (" + node.id + "): " + node.state;
      svg("text", { x, y: y + (big ? 30 : 26), class: "label" }, group).textContent = node.name;
    }
  }

  return { canvas, draw };
})();
