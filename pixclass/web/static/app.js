// pixclass: the little behaviour pages need beyond htmx (upload progress, multi-select).
(function () {
  "use strict";

  // Upload progress: htmx fires xhr:progress on the element that sent the request.
  document.addEventListener("htmx:xhr:progress", function (event) {
    const bar = event.target.querySelector ? event.target.querySelector("#upload-progress") : null;
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
    const status = document.getElementById("upload-status");
    if (status) {
      status.textContent = bar.value < 100 ? bar.value + "% sent" : "adding to the collection…";
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const bar = event.target.querySelector ? event.target.querySelector("#upload-progress") : null;
    if (bar) bar.hidden = true;
    const status = document.getElementById("upload-status");
    if (status && event.target.id === "upload-form") status.textContent = "";
  });

  // Flash messages fade after a while.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "flash") return;
    const shown = Array.from(event.target.children);
    setTimeout(function () { shown.forEach(function (el) { el.remove(); }); }, 6000);
  });

  // A running job's card: time since it started and, once it has moved, about how long is left.
  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function tickJobs() {
    document.querySelectorAll("[data-job-clock]").forEach(function (el) {
      const out = el.querySelector("[data-job-time]");
      const started = Date.parse(el.dataset.started);
      if (!out || !el.dataset.started || isNaN(started)) return;
      const elapsed = (Date.now() - started) / 1000;
      const fraction = Number(el.dataset.fraction);
      let text = " · " + clock(elapsed) + " elapsed";
      if (fraction > 0.02 && fraction < 1) text += " · about " + clock(elapsed * (1 - fraction) / fraction) + " left";
      out.textContent = text;
    });
  }
  setInterval(tickJobs, 1000);
  document.addEventListener("htmx:afterSettle", tickJobs);

  // Upload: every file is checked against the per-image limit before anything is sent, and an
  // upload over the per-request limit is not sent at all (the server would refuse it at the end).
  document.addEventListener("htmx:confirm", function (event) {
    const form = event.target;
    if (form.id !== "upload-form") return;
    const perFile = Number(form.dataset.fileMax), perUpload = Number(form.dataset.uploadMax);
    const inputs = Array.from(form.querySelectorAll('input[type="file"]'));
    const files = inputs.flatMap(function (input) { return Array.from(input.files); });
    const zips = function (f) { return /\.zip$/i.test(f.name); };
    const tooBig = files.filter(function (f) { return !zips(f) && f.size > perFile; });
    const total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    const status = document.getElementById("upload-status");
    if (files.length === 0) { event.preventDefault(); status.textContent = "Choose files or a folder first."; return; }
    if (total > perUpload) {
      event.preventDefault();
      status.textContent = "Not sent: these files are " + mib(total) + " MiB, over the " + mib(perUpload) + " MiB an upload may be. Upload them in parts.";
      return;
    }
    if (tooBig.length === 0) return;
    // The files over the limit stay home; the rest go, and the report lists what stayed.
    event.preventDefault();
    const names = tooBig.map(function (f) { return f.webkitRelativePath || f.name; });
    const skipped = document.getElementById("upload-skipped");
    inputs.forEach(function (input) {
      const keep = new DataTransfer();
      Array.from(input.files).forEach(function (f) { if (tooBig.indexOf(f) < 0) keep.items.add(f); });
      input.files = keep.files;
    });
    skipped.textContent = "Not sent (over " + mib(perFile) + " MiB each): " + names.join(", ");
    skipped.hidden = false;
    if (files.length > tooBig.length) event.detail.issueRequest(true);
  });
  function mib(bytes) { return (bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0); }

  // Forms that apply as soon as a choice changes (the class page's order and filters).
  document.addEventListener("change", function (event) {
    const f = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (f && event.target.type !== "search") f.requestSubmit();
  });

  // The classes page: show only the classes whose name has what is typed.
  document.addEventListener("input", function (event) {
    if (event.target.id !== "class-filter") return;
    const want = event.target.value.trim().toLowerCase();
    document.querySelectorAll(".class-card").forEach(function (card) {
      const name = card.querySelector(".class-name").textContent.toLowerCase();
      card.hidden = want !== "" && name.indexOf(want) < 0;
    });
  });
})();
