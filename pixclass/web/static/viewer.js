// pixclass: the viewer (lightbox). The image large (small images scaled up, pixels kept sharp),
// its class and confidence, previous/next with the arrow keys, and its most similar images.
(function () {
  "use strict";

  let current = null; // the grid thumbnail shown, or null for an image opened from "similar"

  function dialog() { return document.getElementById("viewer"); }
  function grid() { return document.querySelector(".thumb-grid"); }

  function pct(value) { return Math.round(100 * value) + "%"; }

  async function show(imageId, run) {
    const d = dialog();
    d.dataset.image = imageId;
    d.querySelector("[data-viewer-img]").src = "/api/images/" + imageId + "/original";
    d.querySelector("[data-viewer-open]").href = "/images/" + imageId + "?run=" + run;
    const info = d.querySelector("[data-viewer-info]");
    const similar = d.querySelector("[data-viewer-similar]");
    info.textContent = "…";
    const response = await fetch("/api/images/" + imageId + "?run=" + run + "&similar=12", { headers: { Accept: "application/json" } });
    if (d.dataset.image !== String(imageId)) return; // moved on meanwhile
    if (!response.ok) { info.textContent = "This image could not be read (" + response.status + ")."; return; }
    const data = await response.json();
    const cls = data.image_class;
    info.replaceChildren();
    const name = document.createElement("strong");
    name.className = "break";
    name.textContent = data.file_name;
    const line = document.createElement("span");
    line.setAttribute("data-viewer-class", "");
    line.textContent = cls ? (cls.cluster === null ? "unknown" : cls.class_name) + " · " + pct(cls.confidence) + " confident" + (cls.set_by_person ? " · set by a person" : "") : "not classified";
    const size = document.createElement("span");
    size.className = "muted small";
    size.textContent = data.width + " × " + data.height + " px";
    info.append(name, line, size);
    similar.replaceChildren.apply(similar, data.similar.map(function (s) {
      const a = document.createElement("a");
      a.className = "thumb";
      a.href = "/images/" + s.image_id + "?run=" + run;
      a.dataset.image = s.image_id;
      const name = s.cluster === null ? "unknown" : s.class_name;
      a.title = name + " · " + pct(s.confidence);
      const img = document.createElement("img");
      img.src = "/api/images/" + s.image_id + "/thumbnail";
      img.alt = "image " + s.image_id;
      const label = document.createElement("span");
      label.className = "conf";
      label.textContent = name;
      a.append(img, label);
      return a;
    }));
  }

  function runOf() {
    const f = document.querySelector("form.selection");
    return f ? f.dataset.run : "";
  }

  function open(thumb) {
    const d = dialog();
    if (!d) return;
    current = thumb;
    if (!d.open) d.showModal();
    show(thumb.querySelector('input[name="image_ids"]').value, runOf());
  }

  function step(delta) {
    if (!current) return;
    const all = Array.from(grid().querySelectorAll(".thumb"));
    const next = all[all.indexOf(current) + delta];
    if (!next) return;
    next.classList.add("focus");
    if (current !== next) current.classList.remove("focus");
    next.scrollIntoView({ block: "nearest" });
    open(next);
  }

  window.pixclassViewer = { open: open };

  document.addEventListener("click", function (event) {
    const opener = event.target.closest && event.target.closest(".thumb-grid .thumb .open");
    if (opener && dialog() && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      event.stopPropagation();
      open(opener.closest(".thumb"));
      return;
    }
    const similar = event.target.closest && event.target.closest("[data-viewer-similar] .thumb");
    if (similar && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      current = null;
      show(similar.dataset.image, runOf());
      return;
    }
    const button = event.target.closest && event.target.closest("[data-viewer-prev], [data-viewer-next], [data-viewer-close]");
    if (!button) return;
    if (button.hasAttribute("data-viewer-close")) dialog().close();
    else step(button.hasAttribute("data-viewer-next") ? 1 : -1);
  }, true);

  document.addEventListener("keydown", function (event) {
    const d = dialog();
    if (!d || !d.open) return;
    if (event.key === "ArrowRight" || event.key === "j") step(1);
    else if (event.key === "ArrowLeft" || event.key === "k") step(-1);
    else return;
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    const d = dialog();
    if (!d) return;
    // Back on the grid, the focus is where the viewer was.
    d.addEventListener("close", function () { if (current) current.focus({ preventScroll: true }); });
    // A click on the backdrop (outside the dialog's box) closes it.
    d.addEventListener("click", function (event) { if (event.target === d) d.close(); });
  });
})();
