// pixclass map: every image of a run as a point on a <canvas>, coloured by class.
// Points arrive as typed arrays (see pixclass/web/mapdata.py), are drawn straight into an
// ImageData buffer (70,000 points in a few milliseconds), and are found under the mouse with a
// grid index. Pan and zoom, box and lasso selection, move or export the selection.
(function () {
  "use strict";
  const app = document.getElementById("map-app");
  if (!app) return;
  const runId = app.dataset.run;
  const canvas = document.getElementById("map-canvas");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("map-tip");
  const status = document.getElementById("map-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const none = { headers: function () { return {}; }, answered: async function () { return true; } };
  const live = window.pixclassLive || none;

  let n = 0, xs, ys, ids, cls;            // the points
  let colors = {}, names = {}, sizes = {}; // per class index
  let selected = new Uint8Array(0);
  let highlight = null;                   // class index shown strong, others faded
  let view = { scale: 1, tx: 0, ty: 0 };  // data -> CSS pixels
  let bounds = null;
  let grid = null, gridCell = 12;
  let mode = "pan";
  let drag = null;                        // current gesture
  let dpr = window.devicePixelRatio || 1;

  function hexToRgb(hex) {
    const v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }

  // keepView: the points were loaded before and changed under the page (another window moved
  // images, new images were classified into the run): draw them again where the person looks.
  async function load(keepView) {
    const headers = { "Accept": "application/json" };
    const meta = await (await fetch("/api/runs/" + runId + "/map", { headers })).json();
    colors = {}; names = {}; sizes = {};
    meta.classes.forEach(function (c) {
      colors[c.index] = hexToRgb(c.color);
      names[c.index] = c.display_name;
      sizes[c.index] = c.size;
    });
    colors[-1] = [176, 176, 176];
    names[-1] = "unknown";
    const buffer = await (await fetch(meta.binary)).arrayBuffer();
    const count = new DataView(buffer).getUint32(4, true);
    n = count;
    xs = new Float32Array(buffer, 8, n);
    ys = new Float32Array(buffer, 8 + 4 * n, n);
    ids = new Int32Array(buffer, 8 + 8 * n, n);
    cls = new Int32Array(buffer.slice(8 + 12 * n, 8 + 16 * n)); // a copy: moves change it
    selected = new Uint8Array(n);
    computeBounds();
    grid = null;
    if (keepView) { draw(); updateSelectionUi(); } else { resize(); }
    renderLegend(meta.classes);
    // Images classified after the run have a class but no place on the map: say so.
    const later = Math.max(0, meta.n - n);
    status.textContent = n.toLocaleString() + " images" +
      (later ? " · " + later.toLocaleString() + " classified later, not on the map" : "");
  }

  function computeBounds() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      if (xs[i] < x0) x0 = xs[i]; if (xs[i] > x1) x1 = xs[i];
      if (ys[i] < y0) y0 = ys[i]; if (ys[i] > y1) y1 = ys[i];
    }
    if (!isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    bounds = { x0, x1, y0, y1 };
  }

  function fitView() {
    const w = canvas.clientWidth, h = canvas.clientHeight, pad = 24;
    const dx = Math.max(bounds.x1 - bounds.x0, 1e-6), dy = Math.max(bounds.y1 - bounds.y0, 1e-6);
    const scale = Math.min((w - 2 * pad) / dx, (h - 2 * pad) / dy);
    view = {
      scale,
      tx: (w - scale * (bounds.x0 + bounds.x1)) / 2,
      ty: (h + scale * (bounds.y0 + bounds.y1)) / 2,  // y grows upwards on the map
    };
  }

  function toScreen(i) { return [view.tx + view.scale * xs[i], view.ty - view.scale * ys[i]]; }

  function resize() {
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * dpr);
    canvas.height = Math.round(canvas.clientHeight * dpr);
    fitView();
    draw();
  }

  function draw() {
    const W = canvas.width, H = canvas.height;
    const image = ctx.createImageData(W, H);
    const px = image.data;
    for (let i = 0; i < px.length; i += 4) { px[i] = 252; px[i + 1] = 252; px[i + 2] = 253; px[i + 3] = 255; }
    const r = Math.max(1, Math.round(dpr * (n > 20000 ? 1 : 2)));
    const paint = function (i, rgb) {
      const cx = Math.round((view.tx + view.scale * xs[i]) * dpr);
      const cy = Math.round((view.ty - view.scale * ys[i]) * dpr);
      if (cx < -r || cy < -r || cx >= W + r || cy >= H + r) return;
      const r2 = r * r + r;  // a round dot: corners of the square left out
      for (let y = Math.max(0, cy - r); y <= Math.min(H - 1, cy + r); y++) {
        let o = (y * W + Math.max(0, cx - r)) * 4;
        for (let x = Math.max(0, cx - r); x <= Math.min(W - 1, cx + r); x++, o += 4) {
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > r2) continue;
          px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2];
        }
      }
    };
    const faded = function (rgb) { return [rgb[0] * 0.25 + 191, rgb[1] * 0.25 + 191, rgb[2] * 0.25 + 191]; };
    // Faded and unselected first, so that highlighted and selected points stay on top.
    for (let i = 0; i < n; i++) {
      if (selected[i]) continue;
      const rgb = colors[cls[i]] || colors[-1];
      if (highlight !== null && cls[i] !== highlight) paint(i, faded(rgb));
    }
    for (let i = 0; i < n; i++) {
      if (selected[i] || (highlight !== null && cls[i] !== highlight)) continue;
      paint(i, colors[cls[i]] || colors[-1]);
    }
    const ink = [17, 24, 39];
    for (let i = 0; i < n; i++) if (selected[i]) paint(i, ink);
    ctx.putImageData(image, 0, 0);
    drawGesture();
    grid = null; // positions changed: rebuild the hover index when needed
  }

  function drawGesture() {
    if (!drag || (mode !== "box" && mode !== "lasso")) return;
    ctx.save();
    ctx.scale(dpr, dpr);
    ctx.strokeStyle = "#2563eb";
    ctx.fillStyle = "rgba(37, 99, 235, 0.08)";
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    if (mode === "box") {
      ctx.rect(drag.x0, drag.y0, drag.x - drag.x0, drag.y - drag.y0);
    } else {
      drag.path.forEach(function (p, k) { k ? ctx.lineTo(p[0], p[1]) : ctx.moveTo(p[0], p[1]); });
      ctx.closePath();
    }
    ctx.fill();
    ctx.stroke();
    ctx.restore();
  }

  function buildGrid() {
    grid = new Map();
    for (let i = 0; i < n; i++) {
      const p = toScreen(i);
      const key = Math.floor(p[0] / gridCell) + "," + Math.floor(p[1] / gridCell);
      let bucket = grid.get(key);
      if (!bucket) { bucket = []; grid.set(key, bucket); }
      bucket.push(i);
    }
  }

  function nearest(x, y, radius) {
    if (!grid) buildGrid();
    const gx = Math.floor(x / gridCell), gy = Math.floor(y / gridCell);
    let best = -1, bestD = radius * radius;
    for (let a = gx - 1; a <= gx + 1; a++) {
      for (let b = gy - 1; b <= gy + 1; b++) {
        const bucket = grid.get(a + "," + b);
        if (!bucket) continue;
        for (const i of bucket) {
          if (highlight !== null && cls[i] !== highlight) continue;
          const p = toScreen(i), d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
          if (d < bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  function showTip(i, x, y) {
    if (i < 0) { tip.hidden = true; return; }
    const img = "/api/images/" + ids[i] + "/thumbnail";
    tip.innerHTML = "";
    const picture = document.createElement("img");
    picture.src = img;
    picture.alt = "";
    const text = document.createElement("div");
    const name = document.createElement("strong");
    name.textContent = names[cls[i]] || "class " + cls[i];
    text.appendChild(name);
    text.appendChild(document.createElement("br"));
    text.appendChild(document.createTextNode("image " + ids[i]));
    tip.appendChild(picture);
    tip.appendChild(text);
    tip.hidden = false;
    const w = canvas.clientWidth;
    tip.style.left = Math.min(x + 14, w - 170) + "px";
    tip.style.top = Math.max(y - 80, 4) + "px";
  }

  function pointer(event) {
    const rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  canvas.addEventListener("pointerdown", function (event) {
    const [x, y] = pointer(event);
    canvas.setPointerCapture(event.pointerId);
    drag = { x0: x, y0: y, x, y, path: [[x, y]], moved: false, tx: view.tx, ty: view.ty, add: event.shiftKey };
  });
  canvas.addEventListener("pointermove", function (event) {
    const [x, y] = pointer(event);
    if (!drag) { showTip(nearest(x, y, 8), x, y); return; }
    if (Math.abs(x - drag.x0) + Math.abs(y - drag.y0) > 3) drag.moved = true;
    drag.x = x; drag.y = y;
    tip.hidden = true;
    if (mode === "pan") {
      view.tx = drag.tx + (x - drag.x0);
      view.ty = drag.ty + (y - drag.y0);
      draw();
    } else {
      if (mode === "lasso") drag.path.push([x, y]);
      draw();
    }
  });
  canvas.addEventListener("pointerup", function (event) {
    const [x, y] = pointer(event);
    const gesture = drag;
    drag = null;
    if (!gesture) return;
    if (!gesture.moved) {
      const i = nearest(x, y, 8);
      if (i >= 0) window.location.href = "/images/" + ids[i] + "?run=" + runId;
      else if (mode !== "pan" && !gesture.add) setSelection(function () { return false; }, false);
      draw();
      return;
    }
    if (mode === "box") {
      const xa = Math.min(gesture.x0, x), xb = Math.max(gesture.x0, x);
      const ya = Math.min(gesture.y0, y), yb = Math.max(gesture.y0, y);
      setSelection(function (px, py) { return px >= xa && px <= xb && py >= ya && py <= yb; }, gesture.add);
    } else if (mode === "lasso") {
      const path = gesture.path;
      setSelection(function (px, py) { return inPolygon(px, py, path); }, gesture.add);
    }
    draw();
  });
  canvas.addEventListener("pointerleave", function () { tip.hidden = true; });
  canvas.addEventListener("wheel", function (event) {
    event.preventDefault();
    const [x, y] = pointer(event);
    const factor = Math.exp(-event.deltaY * 0.0015);
    view.tx = x - (x - view.tx) * factor;
    view.ty = y - (y - view.ty) * factor;
    view.scale *= factor;
    draw();
  }, { passive: false });

  function inPolygon(x, y, poly) {
    let inside = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const xi = poly[i][0], yi = poly[i][1], xj = poly[j][0], yj = poly[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function setSelection(test, add) {
    if (!add) selected.fill(0);
    for (let i = 0; i < n; i++) {
      if (highlight !== null && cls[i] !== highlight) continue;
      const p = toScreen(i);
      if (test(p[0], p[1])) selected[i] = 1;
    }
    updateSelectionUi();
  }

  function selectedIds() {
    const out = [];
    for (let i = 0; i < n; i++) if (selected[i]) out.push(ids[i]);
    return out;
  }

  function updateSelectionUi() {
    let count = 0;
    for (let i = 0; i < n; i++) count += selected[i];
    document.getElementById("sel-count").textContent = count.toLocaleString();
    ["sel-move", "sel-csv", "sel-zip", "sel-clear"].forEach(function (id) {
      document.getElementById(id).disabled = count === 0;
    });
  }

  function renderLegend(classes) {
    const list = document.getElementById("legend");
    list.innerHTML = "";
    classes.slice().sort(function (a, b) { return b.size - a.size; }).forEach(function (c) {
      if (!sizes[c.index]) return;
      const item = document.createElement("li");
      item.dataset.index = c.index;
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = c.color;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = c.display_name;
      const count = document.createElement("span");
      count.className = "n";
      count.textContent = sizes[c.index].toLocaleString();
      item.append(dot, name, count);
      item.addEventListener("click", function () {
        highlight = highlight === c.index ? null : c.index;
        list.querySelectorAll("li").forEach(function (li) {
          li.classList.toggle("on", Number(li.dataset.index) === highlight);
        });
        draw();
      });
      list.appendChild(item);
    });
  }

  function flash(message, kind) {
    const box = document.getElementById("flash");
    const el = document.createElement("div");
    el.className = "flash " + (kind || "ok");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json", "X-CSRF-Token": csrf }, live.headers()),
      body: JSON.stringify(body),
    });
    if (!(await live.answered(response))) {
      // Another window changed the run: this map is out of date, so it is drawn again.
      setTimeout(function () { location.reload(); }, 2500);
    }
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    return response;
  }

  document.getElementById("sel-move").addEventListener("click", async function () {
    const target = Number(document.getElementById("sel-target").value);
    const chosen = selectedIds();
    try {
      const result = await (await post("/api/runs/" + runId + "/move", { image_ids: chosen, to: target })).json();
      for (let i = 0; i < n; i++) if (selected[i]) { sizes[cls[i]] = (sizes[cls[i]] || 1) - 1; cls[i] = target; }
      sizes[target] = result.to.size;
      selected.fill(0);
      updateSelectionUi();
      const meta = Object.keys(names).filter(function (k) { return k !== "-1"; }).map(function (k) {
        const rgb = colors[k];
        return { index: Number(k), display_name: names[k], size: sizes[k] || 0,
          color: "#" + rgb.map(function (v) { return v.toString(16).padStart(2, "0"); }).join("") };
      });
      renderLegend(meta);
      draw();
      flash("Moved " + result.moved + " image(s) to " + result.to.display_name + ".");
    } catch (error) {
      flash(error.message, "error");
    }
  });

  async function exportSelection(format) {
    try {
      const response = await post("/api/runs/" + runId + "/selection/export", { image_ids: selectedIds(), format });
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "pixclass-run" + runId + "-selection." + format;
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    } catch (error) {
      flash(error.message, "error");
    }
  }
  document.getElementById("sel-csv").addEventListener("click", function () { exportSelection("csv"); });
  document.getElementById("sel-zip").addEventListener("click", function () { exportSelection("zip"); });
  document.getElementById("sel-clear").addEventListener("click", function () {
    selected.fill(0); updateSelectionUi(); draw();
  });
  document.getElementById("map-reset").addEventListener("click", function () { fitView(); draw(); });
  document.querySelectorAll('input[name="mode"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      mode = radio.value;
      canvas.classList.toggle("select", mode !== "pan");
    });
  });
  window.addEventListener("resize", function () { if (n) resize(); });

  load(false).catch(function (error) { status.textContent = "Could not load the map: " + error.message; });
  // The page's version moved because of another window or a job (not this page's own move,
  // which it has drawn already): the count, the legend and the points are fetched again.
  document.addEventListener("pixclass:reloaded", function (event) {
    if (event.detail && event.detail.own) return;
    load(true).catch(function (error) { flash("Could not reload the map: " + error.message, "error"); });
  });
})();
