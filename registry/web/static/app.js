// Strata web UI: small conveniences on server-rendered pages (no framework, no build).
"use strict";

// Copy buttons: <button data-copy="#id"> copies that element's text.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  const text = source ? source.textContent : "";
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectText(source));
  } else {
    selectText(source);
  }
});

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

// Lineage graph: wheel zooms, drag pans, hovering a node lights up its edges.
function setUpGraph(container) {
  const svg = container.querySelector("svg");
  const full = svg.viewBox.baseVal;
  const size = { width: full.width, height: full.height };
  let view = start();
  apply();

  // At full size around this page's node, so labels stay legible however large the
  // graph; "Fit" shows all of it.
  function start() {
    const box = container.getBoundingClientRect();
    const root = svg.querySelector(".node.root rect");
    const centre = (position, length, total, visible) =>
      Math.max(0, Math.min(position + length / 2 - visible / 2, total - visible));
    if (!root || (size.width <= box.width && size.height <= box.height)) {
      return { x: 0, y: 0, width: box.width, height: box.height };
    }
    const attr = (name) => Number(root.getAttribute(name));
    return {
      x: centre(attr("x"), attr("width"), size.width, box.width),
      y: centre(attr("y"), attr("height"), size.height, box.height),
      width: box.width,
      height: box.height,
    };
  }
  function fit() {
    const box = container.getBoundingClientRect();
    // Never enlarged past full size; shrunk until the whole graph shows.
    const scale = Math.max(size.width / box.width, size.height / box.height, 1);
    return { x: 0, y: 0, width: box.width * scale, height: box.height * scale };
  }
  function apply() {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.width} ${view.height}`);
  }
  function zoom(factor, cx, cy) {
    const box = container.getBoundingClientRect();
    const px = view.x + ((cx ?? box.width / 2) / box.width) * view.width;
    const py = view.y + ((cy ?? box.height / 2) / box.height) * view.height;
    view.width *= factor; view.height *= factor;
    view.x = px - ((cx ?? box.width / 2) / box.width) * view.width;
    view.y = py - ((cy ?? box.height / 2) / box.height) * view.height;
    apply();
  }
  container.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = container.getBoundingClientRect();
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });

  let drag = null;
  container.addEventListener("pointerdown", (event) => {
    if (event.target.closest("a")) return;  // a click on a node opens it
    drag = { x: event.clientX, y: event.clientY, view: { ...view } };
    container.setPointerCapture(event.pointerId);
  });
  container.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const box = container.getBoundingClientRect();
    view.x = drag.view.x - ((event.clientX - drag.x) / box.width) * view.width;
    view.y = drag.view.y - ((event.clientY - drag.y) / box.height) * view.height;
    apply();
  });
  container.addEventListener("pointerup", () => { drag = null; });

  const edges = Array.from(svg.querySelectorAll(".edge"));
  svg.querySelectorAll(".node").forEach((node) => {
    const id = node.dataset.node;
    const mine = edges.filter((e) => e.dataset.source === id || e.dataset.target === id);
    node.addEventListener("mouseenter", () => mine.forEach((e) => e.classList.add("highlight")));
    node.addEventListener("mouseleave", () => mine.forEach((e) => e.classList.remove("highlight")));
  });

  document.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "fit") { view = fit(); apply(); } else { zoom(how === "in" ? 1 / 1.25 : 1.25); }
    });
  });
}

document.querySelectorAll("[data-graph]").forEach(setUpGraph);
