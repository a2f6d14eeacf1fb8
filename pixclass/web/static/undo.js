// pixclass: undo a correction. After each correction an Undo toast; Ctrl+Z (Cmd+Z) anywhere on
// a run's pages undoes the newest correction not undone yet (POST /api/runs/N/undo).
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="pixclass-undo"]');
  if (!meta) return;
  const url = meta.content;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const KEY = "pixclass-undo-toast";
  // The page routes of a correction: move, confirm, merge, rename, split.
  const CORRECTION = /\/runs\/\d+\/(move|confirm|merge|classes\/\d+\/(rename|split))$/;

  function toast(text, offerUndo) {
    const area = document.getElementById("flash");
    if (!area) return;
    area.querySelectorAll(".undo-toast").forEach(function (old) { old.remove(); });
    const box = document.createElement("div");
    box.className = "flash ok undo-toast";
    box.setAttribute("role", "status");
    box.append(text);
    if (offerUndo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.undo = "";
      button.title = "Undo (Ctrl+Z)";
      button.textContent = "Undo";
      button.addEventListener("click", undo);
      box.append(" ", button);
    }
    area.append(box);
    setTimeout(function () { box.remove(); }, 10000);
  }

  let busy = false;
  function undo() {
    if (busy) return;
    busy = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (got) {
        busy = false;
        if (!got.ok) {
          toast(got.body.detail || "Nothing to undo.", false);
          return;
        }
        sessionStorage.setItem(KEY, JSON.stringify({ text: "Undone: " + got.body.summary + ".", undo: false }));
        location.reload();
      })
      .catch(function () {
        busy = false;
        toast("The undo did not reach the server; try again.", false);
      });
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    const info = event.detail.pathInfo || {};
    const path = String(info.requestPath || "").split("?")[0];
    const xhr = event.detail.xhr;
    // Not event.detail.successful: htmx leaves it unset on a response that redirects.
    if (!xhr || xhr.status < 200 || xhr.status >= 300 || !CORRECTION.test(path)) return;
    const text = "Saved.";
    if (xhr.getResponseHeader("HX-Redirect")) {
      sessionStorage.setItem(KEY, JSON.stringify({ text: text, undo: true }));
    } else {
      toast(text, true);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey) return;
    if (event.key.toLowerCase() !== "z") return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    event.preventDefault();
    undo();
  });

  const pending = sessionStorage.getItem(KEY);
  if (pending) {
    sessionStorage.removeItem(KEY);
    try {
      const shown = JSON.parse(pending);
      toast(shown.text, shown.undo);
    } catch (e) { /* an unreadable note is dropped */ }
  }
})();
