// pixclass: choosing images in a grid by hand and by keyboard (class page).
// Arrows or j/k move the focus, x or Space selects, Shift+click and Shift+arrows select a range,
// dragging over the grid selects a rectangle, a selects the whole class (also the images not
// loaded yet), m goes to "Move to", c confirms, Esc clears, ? shows the keys.
(function () {
  "use strict";

  const TYPING = "input:not([type=checkbox]), select, textarea, [contenteditable]";
  let anchor = null; // where a range starts: the last thumbnail clicked or moved to

  function form() { return document.querySelector("form.selection"); }
  function thumbs(f) { return Array.from(f.querySelectorAll(".thumb")); }
  function box(thumb) { return thumb.querySelector('input[name="image_ids"]'); }
  function focused(f) { return f.querySelector(".thumb.focus"); }

  function columns(f) {
    const grid = f.querySelector(".thumb-grid");
    return getComputedStyle(grid).gridTemplateColumns.split(" ").length;
  }

  // The count, the buttons that need a selection, and "the whole class" marker.
  function update(f) {
    const rest = f.querySelectorAll("#select-rest input").length;
    const n = f.querySelectorAll('.thumb input[name="image_ids"]:checked').length + rest;
    f.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = n; });
    f.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = n === 0; });
  }
  window.pixclassSelection = { update: update };

  function setFocus(f, thumb) {
    if (!thumb) return;
    thumbs(f).forEach(function (t) { if (t !== thumb) { t.classList.remove("focus"); t.tabIndex = -1; } });
    thumb.classList.add("focus");
    thumb.tabIndex = 0;
    thumb.focus({ preventScroll: true });
    thumb.scrollIntoView({ block: "nearest" });
  }

  function selectRange(f, from, to, on) {
    const all = thumbs(f);
    let a = all.indexOf(from), b = all.indexOf(to);
    if (a < 0) a = b;
    if (a > b) { const t = a; a = b; b = t; }
    all.slice(a, b + 1).forEach(function (t) { box(t).checked = on; });
  }

  function clear(f) {
    f.querySelectorAll('.thumb input[name="image_ids"]').forEach(function (el) { el.checked = false; });
    const rest = f.querySelector("#select-rest");
    if (rest) rest.replaceChildren();
    update(f);
  }

  // "a": every image of the class, those not loaded yet as hidden inputs (read from the API).
  async function selectClass(f) {
    f.querySelectorAll('.thumb input[name="image_ids"]').forEach(function (el) { el.checked = true; });
    update(f);
    const shown = new Set(thumbs(f).map(function (t) { return box(t).value; }));
    const rest = f.querySelector("#select-rest");
    const limit = 5000;
    const inputs = [];
    for (let offset = 0; ; offset += limit) {
      const url = "/api/runs/" + f.dataset.run + "/classes/" + f.dataset.class + "/images?limit=" + limit + "&offset=" + offset;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) break;
      const page = await response.json();
      page.forEach(function (item) {
        if (shown.has(String(item.image_id))) return;
        const input = document.createElement("input");
        input.type = "hidden"; input.name = "image_ids"; input.value = item.image_id;
        inputs.push(input);
      });
      if (page.length < limit) break;
    }
    rest.replaceChildren.apply(rest, inputs);
    update(f);
  }

  function move(f, thumb, step, extend) {
    const all = thumbs(f);
    const from = thumb || all[0];
    const next = thumb ? all[Math.min(all.length - 1, Math.max(0, all.indexOf(from) + step))] : from;
    if (!next) return;
    if (extend) {
      if (!anchor || !f.contains(anchor)) anchor = from;
      selectRange(f, anchor, next, true);
      update(f);
    } else {
      anchor = next;
    }
    setFocus(f, next);
    // Near the end: let the lazy loader fetch the next page before the focus gets there.
    const more = f.querySelector(".more");
    if (more && all.indexOf(next) > all.length - 2 * columns(f)) more.scrollIntoView({ block: "nearest" });
  }

  function onKey(event) {
    const f = form();
    if (!f || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return; // the viewer and the key list have their own keys
    if (event.target.closest && event.target.closest(TYPING)) {
      if (event.key === "Enter" && event.target.matches('select[name="to"]')) {
        event.preventDefault();
        f.querySelector("[data-move]").click();
      } else if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    const thumb = focused(f);
    const cols = columns(f);
    const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, j: 1, k: -1 };
    const key = event.key.length === 1 && !event.shiftKey ? event.key.toLowerCase() : event.key;
    if (key in steps || event.key in steps) {
      move(f, thumb, steps[key in steps ? key : event.key], event.shiftKey);
    } else if (key === "x" || key === " ") {
      if (!thumb) return;
      box(thumb).checked = !box(thumb).checked;
      anchor = thumb;
      update(f);
    } else if (key === "a") {
      selectClass(f);
    } else if (key === "m") {
      f.querySelector('select[name="to"]').focus();
    } else if (key === "c") {
      const confirm = f.querySelector("[data-confirm]");
      if (!confirm.disabled) confirm.click();
    } else if (key === "Escape") {
      clear(f);
    } else if (key === "?" || event.key === "?") {
      document.getElementById("keys").showModal();
    } else if ((key === "Enter" || key === "o") && thumb) {
      if (window.pixclassViewer) window.pixclassViewer.open(thumb);
    } else {
      return;
    }
    event.preventDefault();
  }

  // Shift+click selects from the last clicked thumbnail to this one.
  function onClick(event) {
    const thumb = event.target.closest && event.target.closest(".thumb");
    const f = form();
    if (!thumb || !f || !f.contains(thumb) || event.target.closest("a")) return;
    if (dragged) { event.preventDefault(); dragged = false; return; }
    if (event.shiftKey && anchor && f.contains(anchor)) {
      event.preventDefault();
      selectRange(f, anchor, thumb, true);
      update(f);
    } else {
      anchor = thumb;
    }
    setFocus(f, thumb);
  }

  // Drag a rectangle over the grid: every thumbnail it touches is selected.
  let drag = null, dragged = false;
  function onDown(event) {
    const f = form();
    if (!f || event.button !== 0 || !event.target.closest(".thumb-grid") || event.target.closest("a")) return;
    drag = { x: event.clientX, y: event.clientY, f: f, rect: null, keep: event.shiftKey };
  }
  function onMove(event) {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.rect && Math.abs(dx) + Math.abs(dy) < 8) return;
    if (!drag.rect) {
      drag.rect = document.createElement("div");
      drag.rect.className = "drag-rect";
      document.body.appendChild(drag.rect);
      if (!drag.keep) clear(drag.f);
    }
    const left = Math.min(event.clientX, drag.x), top = Math.min(event.clientY, drag.y);
    const right = Math.max(event.clientX, drag.x), bottom = Math.max(event.clientY, drag.y);
    Object.assign(drag.rect.style, { left: left + "px", top: top + "px", width: right - left + "px", height: bottom - top + "px" });
    thumbs(drag.f).forEach(function (t) {
      const r = t.getBoundingClientRect();
      const hit = r.left < right && r.right > left && r.top < bottom && r.bottom > top;
      if (hit) box(t).checked = true;
    });
    update(drag.f);
    event.preventDefault();
  }
  function onUp() {
    if (drag && drag.rect) {
      drag.rect.remove();
      // The click that ends a drag is not a click on a thumbnail (it would toggle one).
      dragged = true;
      setTimeout(function () { dragged = false; }, 0);
    }
    drag = null;
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick, true);
  document.addEventListener("pointerdown", onDown);
  document.addEventListener("pointermove", onMove);
  document.addEventListener("pointerup", onUp);

  // Buttons of the action bar, and every change of a box.
  document.addEventListener("change", function (event) {
    const f = event.target.closest && event.target.closest("form.selection");
    if (f) update(f);
  });
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-select-all], [data-select-none], [data-select-class], [data-show-keys]");
    if (!button) return;
    const f = form();
    if (button.hasAttribute("data-show-keys")) { document.getElementById("keys").showModal(); return; }
    if (button.hasAttribute("data-select-class")) { selectClass(f); return; }
    if (button.hasAttribute("data-select-none")) { clear(f); return; }
    f.querySelectorAll('.thumb input[name="image_ids"]').forEach(function (el) { el.checked = true; });
    update(f);
  });

  // Thumbnail size: a slider, kept for the next visit.
  function applySize(value) {
    document.documentElement.style.setProperty("--thumb", value + "px");
  }
  document.addEventListener("input", function (event) {
    if (event.target.id !== "thumb-size") return;
    applySize(event.target.value);
    try { localStorage.setItem("pixclass.thumb", event.target.value); } catch (e) { /* private mode */ }
  });
  document.addEventListener("DOMContentLoaded", function () {
    const slider = document.getElementById("thumb-size");
    let saved = null;
    try { saved = localStorage.getItem("pixclass.thumb"); } catch (e) { /* private mode */ }
    if (slider && saved) { slider.value = saved; applySize(saved); }
    document.querySelectorAll("form.selection").forEach(update);
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("form.selection").forEach(update);
  });
})();
