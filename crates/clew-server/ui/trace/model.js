// The span tree of a trace, built from the server's columnar skeleton with typed arrays: no
// object per span, so 100,000 spans take a few milliseconds and a few megabytes.
//
// Span i (the skeleton's order: roots first, then by start time) has parent[i] (-1 for a
// root), depth[i], its children children[childStart[i] .. childStart[i+1]) in start order,
// its position pos[i] in the depth-first order `order`, and end[i], the position after its
// last descendant — so skipping a collapsed subtree is a jump.

export function buildModel(skeleton) {
  const n = skeleton.count | 0;
  const ids = skeleton.ids || "";
  const parent = new Int32Array(n);
  const startUs = new Float64Array(n);
  const durUs = new Float64Array(n);
  const nameIdx = new Int32Array(n);
  const typeIdx = new Int32Array(n);
  const status = new Uint8Array(n); // 0 unset, 1 ok, 2 error
  const statusText = skeleton.status || "";
  for (let i = 0; i < n; i++) {
    const p = skeleton.parents[i];
    parent[i] = Number.isInteger(p) && p >= 0 && p < n && p !== i ? p : -1;
    startUs[i] = skeleton.start_us[i] || 0;
    durUs[i] = skeleton.duration_us[i] ?? -1;
    nameIdx[i] = skeleton.names[i] | 0;
    typeIdx[i] = skeleton.types[i] | 0;
    const s = statusText.charCodeAt(i);
    status[i] = s === 69 /* E */ ? 2 : s === 79 /* O */ ? 1 : 0;
  }

  // Children lists (compressed rows): children appear in index order, i.e. by start time.
  const childCount = new Int32Array(n);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) childCount[parent[i]]++;
  const childStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) childStart[i + 1] = childStart[i] + childCount[i];
  const children = new Int32Array(childStart[n]);
  const fill = childStart.slice(0, n);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) children[fill[parent[i]]++] = i;

  // Depth-first order from the roots; spans caught in a parent cycle (bad data) are not
  // reachable from a root: they become roots themselves.
  const order = new Int32Array(n);
  const pos = new Int32Array(n).fill(-1);
  const end = new Int32Array(n);
  const depth = new Int32Array(n);
  const stack = new Int32Array(n + 1);
  const cursor = new Int32Array(n); // next child to visit, per span
  let k = 0;
  const visit = (root) => {
    let top = 0;
    stack[top++] = root;
    depth[root] = root >= 0 && parent[root] >= 0 && pos[parent[root]] >= 0 ? depth[parent[root]] + 1 : 0;
    pos[root] = k;
    order[k++] = root;
    cursor[root] = childStart[root];
    while (top > 0) {
      const node = stack[top - 1];
      if (cursor[node] < childStart[node + 1]) {
        const child = children[cursor[node]++];
        if (pos[child] >= 0) continue;
        pos[child] = k;
        order[k++] = child;
        depth[child] = depth[node] + 1;
        cursor[child] = childStart[child];
        stack[top++] = child;
      } else {
        end[node] = k;
        top--;
      }
    }
  };
  for (let i = 0; i < n; i++) if (parent[i] < 0) visit(i);
  for (let i = 0; i < n; i++) {
    if (pos[i] < 0) {
      parent[i] = -1;
      visit(i);
    }
  }

  // errorBelow[i]: some descendant of span i failed (shown on collapsed rows).
  const errorBelow = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (status[i] !== 2) continue;
    for (let p = parent[i]; p >= 0 && !errorBelow[p]; p = parent[p]) errorBelow[p] = 1;
  }

  let totalUs = 0;
  let maxDepth = 0;
  for (let i = 0; i < n; i++) {
    const stop = startUs[i] + Math.max(0, durUs[i]);
    if (stop > totalUs) totalUs = stop;
    if (depth[i] > maxDepth) maxDepth = depth[i];
  }

  let idIndex = null;
  const model = {
    count: n,
    startNs: skeleton.start_ns,
    nameTable: skeleton.name_table || [],
    typeTable: skeleton.type_table || [],
    parent, startUs, durUs, nameIdx, typeIdx, status, childStart, children, order, pos, end, depth, errorBelow,
    totalUs: totalUs || 1,
    maxDepth,
    id(i) { return ids.substr(i * 16, 16); },
    name(i) { return this.nameTable[nameIdx[i]] ?? ""; },
    type(i) { return this.typeTable[typeIdx[i]] || ""; },
    childCount(i) { return childStart[i + 1] - childStart[i]; },
    /** Index of a span id (hex), or -1: a scan of the id string (a map once many are asked). */
    indexOf(spanId) {
      if (!spanId) return -1;
      const id = String(spanId).toLowerCase();
      if (idIndex) {
        const i = idIndex.get(id);
        return i === undefined ? -1 : i;
      }
      for (let at = ids.indexOf(id); at >= 0; at = ids.indexOf(id, at + 1)) if (at % 16 === 0) return at / 16;
      return -1;
    },
    /** Indexes of many span ids (unknown ones left out); builds the id map for big batches. */
    indexMany(spanIds) {
      if (!idIndex && spanIds.length > 32) {
        idIndex = new Map();
        for (let i = 0; i < n; i++) idIndex.set(ids.substr(i * 16, 16), i);
      }
      return spanIds.map((id) => this.indexOf(id)).filter((i) => i >= 0);
    },
  };
  return model;
}

/**
 * The rows to show, in tree order: spans not hidden under a collapsed ancestor, and — with a
 * `keep` mask (type filter) — only kept spans and their ancestors.
 */
export function visibleRows(model, collapsed, keep) {
  const { order, end, count } = model;
  const rows = new Int32Array(count);
  let r = 0;
  for (let k = 0; k < count;) {
    const i = order[k];
    if (keep && !keep[i]) { k = end[i]; continue; }
    rows[r++] = i;
    k = collapsed[i] ? end[i] : k + 1;
  }
  return rows.subarray(0, r);
}

/** A mask of spans whose type is in `types`, plus their ancestors (to keep the tree). */
export function typeMask(model, types) {
  const keep = new Uint8Array(model.count);
  const wanted = new Set(types);
  const typeWanted = model.typeTable.map((t) => wanted.has(t || "UNKNOWN"));
  // 1 = the type matches, 2 = shown only as the ancestor of a match.
  for (let i = 0; i < model.count; i++) if (typeWanted[model.typeIdx[i]]) keep[i] = 1;
  for (let i = 0; i < model.count; i++) {
    if (keep[i] !== 1) continue;
    // Stops at a marked ancestor: its own ancestors are (or will be) marked by its walk.
    for (let j = model.parent[i]; j >= 0 && keep[j] === 0; j = model.parent[j]) keep[j] = 2;
  }
  return keep;
}

/** Span types present, with counts, most frequent first ("UNKNOWN" for spans without one). */
export function typeCounts(model) {
  const counts = new Map();
  const perIdx = new Int32Array(model.typeTable.length);
  for (let i = 0; i < model.count; i++) perIdx[model.typeIdx[i]]++;
  model.typeTable.forEach((t, idx) => {
    const key = t || "UNKNOWN";
    counts.set(key, (counts.get(key) || 0) + perIdx[idx]);
  });
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}
