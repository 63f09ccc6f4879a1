// A small layered layout for dependency graphs: layers by longest path from the sources
// (back edges of cycles ignored), then a few barycentre sweeps to reduce crossings.

export function layered(nodes, edges) {
  const ids = nodes.map((n) => String(n.id));
  const out = new Map(ids.map((id) => [id, []]));
  const incoming = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    const from = String(e.from), to = String(e.to);
    if (!out.has(from) || !out.has(to) || from === to) continue;
    out.get(from).push(to);
    incoming.get(to).push(from);
  }
  // Depth-first order, dropping edges that close a cycle.
  const colour = new Map();
  const order = [];
  const forward = new Map(ids.map((id) => [id, []]));
  const visit = (id) => {
    colour.set(id, 1);
    for (const next of out.get(id)) {
      if (colour.get(next) === 1) continue; // back edge
      forward.get(id).push(next);
      if (!colour.get(next)) visit(next);
    }
    colour.set(id, 2);
    order.push(id);
  };
  for (const id of ids) if (!colour.get(id)) visit(id);
  order.reverse(); // topological over forward edges
  const layer = new Map(ids.map((id) => [id, 0]));
  for (const id of order) {
    for (const next of forward.get(id)) layer.set(next, Math.max(layer.get(next), layer.get(id) + 1));
  }
  const layers = [];
  for (const id of ids) {
    const l = layer.get(id);
    (layers[l] ||= []).push(id);
  }
  const position = new Map();
  const index = () => layers.forEach((ids2) => ids2.forEach((id, i) => position.set(id, i)));
  index();
  const centre = (id, neighbours) => {
    const ps = neighbours.get(id).map((n) => position.get(n));
    return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : position.get(id);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const range = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const ids2 of range) {
      ids2.sort((a, b) => centre(a, down ? incoming : out) - centre(b, down ? incoming : out));
      ids2.forEach((id, i) => position.set(id, i));
    }
  }
  return { layers, layer, position };
}
