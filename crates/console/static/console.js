// Ironward console: small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Forms that ask for confirmation before a destructive action.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});

// Column chooser of tables marked data-columns-table: the checkboxes with data-column toggle
// the cells with the same data-col; the choice is remembered per table in localStorage.
// Without script the server's defaults show.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table[data-columns-table]")) {
    const key = "ironward.columns." + table.dataset.columnsTable;
    const boxes = document.querySelectorAll("input[data-column]");
    let saved = null;
    try { saved = JSON.parse(window.localStorage.getItem(key) || "null"); } catch (_) { saved = null; }
    const apply = () => {
      for (const box of boxes) {
        for (const cell of table.querySelectorAll(`[data-col="${box.dataset.column}"]`)) {
          cell.classList.toggle("col-hidden", !box.checked);
        }
      }
    };
    if (Array.isArray(saved)) {
      for (const box of boxes) box.checked = saved.includes(box.dataset.column);
    }
    apply();
    for (const box of boxes) {
      box.addEventListener("change", () => {
        apply();
        const shown = Array.from(boxes).filter((b) => b.checked).map((b) => b.dataset.column);
        try { window.localStorage.setItem(key, JSON.stringify(shown)); } catch (_) { /* private mode */ }
      });
    }
  }
});

// Zoom and pan of SVG drawings marked data-zoom: the wheel zooms around the pointer, dragging
// pans, and buttons with data-zoom-in / data-zoom-out / data-zoom-reset name the drawing.
// A click that did not drag still follows the node's link.
document.addEventListener("DOMContentLoaded", () => {
  for (const svg of document.querySelectorAll("svg[data-zoom]")) {
    const initial = svg.viewBox.baseVal;
    const home = { x: initial.x, y: initial.y, w: initial.width, h: initial.height };
    let view = { ...home };
    const set = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    const zoom = (factor, cx, cy) => {
      const w = Math.min(Math.max(view.w * factor, home.w / 20), home.w * 4);
      const h = w * (view.h / view.w);
      view.x = cx - (cx - view.x) * (w / view.w);
      view.y = cy - (cy - view.y) * (h / view.h);
      view.w = w; view.h = h;
      set();
    };
    const point = (event) => {
      const rect = svg.getBoundingClientRect();
      return {
        x: view.x + ((event.clientX - rect.left) / rect.width) * view.w,
        y: view.y + ((event.clientY - rect.top) / rect.height) * view.h,
      };
    };
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const p = point(event);
      zoom(event.deltaY < 0 ? 0.8 : 1.25, p.x, p.y);
    }, { passive: false });
    let drag = null;
    let moved = false;
    svg.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, view: { ...view } };
      moved = false;
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const rect = svg.getBoundingClientRect();
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; svg.classList.add("dragging"); }
      view.x = drag.view.x - (dx / rect.width) * view.w;
      view.y = drag.view.y - (dy / rect.height) * view.h;
      set();
    });
    const end = () => { drag = null; svg.classList.remove("dragging"); };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointerleave", end);
    svg.addEventListener("click", (event) => { if (moved) { event.preventDefault(); moved = false; } }, true);
    const centre = () => ({ x: view.x + view.w / 2, y: view.y + view.h / 2 });
    for (const b of document.querySelectorAll(`[data-zoom-in="${svg.id}"]`)) {
      b.addEventListener("click", () => { const c = centre(); zoom(0.8, c.x, c.y); });
    }
    for (const b of document.querySelectorAll(`[data-zoom-out="${svg.id}"]`)) {
      b.addEventListener("click", () => { const c = centre(); zoom(1.25, c.x, c.y); });
    }
    for (const b of document.querySelectorAll(`[data-zoom-reset="${svg.id}"]`)) {
      b.addEventListener("click", () => { view = { ...home }; set(); });
    }
  }
});

// Threat-intelligence upload (form[data-upload]): the package file is sent as the request body
// with the session's CSRF token; the console's answer (the package, or why it was refused) is
// shown under the form.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-upload]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = form.querySelector("input[type=file]").files[0];
      const status = form.querySelector(".upload-result");
      if (!file) return;
      status.textContent = "Uploading and verifying…";
      try {
        const response = await fetch(form.dataset.upload, {
          method: "POST",
          headers: {
            "content-type": "application/octet-stream",
            "x-csrf-token": form.querySelector("input[name=_csrf]").value,
          },
          body: file,
        });
        const answer = await response.json();
        if (response.ok) {
          status.textContent = "Installed " + answer.file_name + "; devices are being matched.";
          window.setTimeout(() => window.location.reload(), 1500);
        } else {
          status.textContent = answer.error || ("Refused (" + response.status + ")");
        }
      } catch (error) {
        status.textContent = "Upload failed: " + error;
      }
    });
  }
});
